"""The bot's NLP port: a proposal the flow receives never names a product outside the catalog."""

from __future__ import annotations

from pathlib import Path

from bot.analysis import ThreadedAnalyzer
from nlp import Analyzer


async def test_proposals_only_name_catalog_products(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("products:\n  - id: blender\n    label: {en: Blender, zh: 搅拌机}\n"
                       "    names: {en: [blender], zh: [搅拌机, 破壁机]}\n"
                       "  - id: toaster\n    label: {en: Toaster, zh: 烤面包机}\n", encoding="utf-8")
    port = ThreadedAnalyzer(Analyzer.load_default(catalog))
    kettle = await port.propose("The electric kettle I bought leaks", "en")
    assert [p.field for p in kettle] == ["category"]
    blender = await port.propose("破壁机用了两次就不转了", "zh")
    assert [(p.field, p.value, p.label) for p in blender if p.field == "product"] == [("product", "blender", "搅拌机")]
    assert [(c.id, c.label) for c in port.top_products(5, "zh")] == [("blender", "搅拌机"), ("toaster", "烤面包机")]
    assert [c.label for c in port.top_products(1, None)] == ["Blender"]
