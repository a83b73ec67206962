"""What the audit log says changed in a desk settings document."""

from __future__ import annotations

from bot.admin.settings_diff import describe_settings_changes

PRODUCTS = [{"id": "dryer", "label": {"en": "Tumble dryer", "zh": "干衣机"}}]


def test_a_catalog_saved_before_its_line_for_services_existed_has_the_default_line() -> None:
    """A version stored without `services_under_product` (saved before the setting existed) had the default line:
    saving it ticked is no change, unticked is one."""
    old = {"products": PRODUCTS}
    assert describe_settings_changes("catalog", old, {"products": PRODUCTS, "services_under_product": True}) == []
    assert describe_settings_changes("catalog", old, {"products": PRODUCTS, "services_under_product": False}) == [
        "services_under_product changed"]
    renamed = [{**PRODUCTS[0], "label": {"en": "Dryer", "zh": "干衣机"}}]
    assert describe_settings_changes("catalog", old, {"products": renamed, "services_under_product": True}) == [
        "product dryer: label.en changed"]
