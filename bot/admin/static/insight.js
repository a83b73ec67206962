/* The insight dashboard's charts (Apache ECharts), drawn from the page's JSON block: the console's
   Content-Security-Policy runs no inline script. A heat-map cell opens the case list filtered to it. */
(function () {
  "use strict";
  var block = document.getElementById("insight-data");
  if (!block || typeof echarts === "undefined") { return; }
  var data = JSON.parse(block.textContent);
  var charts = [];

  function chart(id, option) {
    var element = document.getElementById(id);
    if (!element) { return null; }
    var instance = echarts.init(element);
    instance.setOption(option);
    charts.push(instance);
    return instance;
  }

  chart("chart-volume", {
    tooltip: { trigger: "axis" },
    legend: { type: "scroll", top: 0 },
    grid: { left: 40, right: 20, top: 40, bottom: 70 },
    xAxis: { type: "category", data: data.volume.periods },
    yAxis: { type: "value", minInterval: 1 },
    dataZoom: [{ type: "inside" }, { type: "slider", bottom: 10 }],
    series: data.volume.series.map(function (s) {
      return { name: s.name, type: "bar", stack: "cases", data: s.data, emphasis: { focus: "series" } };
    })
  });

  if (data.team_volume) {
    chart("chart-team-volume", {
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", top: 0 },
      grid: { left: 40, right: 20, top: 40, bottom: 70 },
      xAxis: { type: "category", data: data.team_volume.periods },
      yAxis: { type: "value", minInterval: 1 },
      dataZoom: [{ type: "inside" }, { type: "slider", bottom: 10 }],
      series: data.team_volume.series.map(function (s) {
        return { name: s.name, type: "bar", stack: "cases", data: s.data, emphasis: { focus: "series" } };
      })
    });
  }

  chart("chart-backlog", {
    tooltip: { trigger: "axis" },
    grid: { left: 40, right: 20, top: 20, bottom: 30 },
    xAxis: { type: "category", data: data.backlog.bands },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ type: "bar", data: data.backlog.cases, label: { show: true, position: "top" } }]
  });

  // One row per product, each tall enough for its axis label and its cells' numbers: the chart grows with the
  // catalog instead of ECharts skipping every other label. The colour scale sits above the grid, away from the
  // rotated category labels below it.
  var HEAT_ROW = 26, HEAT_TOP = 56, HEAT_BOTTOM = 110;
  var heatElement = document.getElementById("chart-heatmap");
  if (heatElement) {
    heatElement.style.height = Math.max(260, HEAT_TOP + HEAT_BOTTOM + data.heat.products.length * HEAT_ROW) + "px";
  }
  var heat = chart("chart-heatmap", {
    tooltip: {
      formatter: function (p) {
        return echarts.format.encodeHTML(data.heat.product_labels[p.value[1]] + " × " +
          data.heat.category_labels[p.value[0]] + ": " + p.value[2]);
      }
    },
    grid: { left: 10, right: 20, top: HEAT_TOP, bottom: 10, containLabel: true },
    xAxis: { type: "category", data: data.heat.category_labels, axisLabel: { rotate: 30, interval: 0 },
             splitArea: { show: true } },
    yAxis: { type: "category", data: data.heat.product_labels, inverse: true, axisLabel: { interval: 0 },
             splitArea: { show: true } },
    visualMap: { min: 0, max: Math.max(1, data.heat.max), calculable: true, orient: "horizontal", left: "center",
                 top: 0, itemHeight: 160 },
    series: [{ name: data.labels.cell_cases, type: "heatmap", data: data.heat.cells, label: { show: true } }]
  });
  if (heat) {
    // The axes show labels; the case list is filtered by the ids behind them.
    heat.on("click", function (p) {
      if (p.componentType !== "series") { return; }
      var product = data.heat.products[p.value[1]];
      var category = data.heat.categories[p.value[0]];
      var url = new URL(data.drill, window.location.href);
      if (product !== "—") { url.searchParams.set("product", product); }
      if (category !== "—") { url.searchParams.set("category", category); }
      window.location.href = url.pathname + url.search;
    });
  }

  chart("chart-funnel", {
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 40, right: 20, top: 40, bottom: 50 },
    xAxis: { type: "category", data: data.funnel.steps, axisLabel: { rotate: 20 } },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: data.labels.reached, type: "bar", data: data.funnel.reached },
      { name: data.labels.answered, type: "bar", data: data.funnel.answered },
      { name: data.labels.abandoned, type: "bar", data: data.funnel.abandoned }
    ]
  });

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
