"""Block Kit validation for the block and element types opsbot uses (like Slack: invalid_blocks)."""

from __future__ import annotations

from typing import Any

MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100


def _text_object(
    value: Any, where: str, *, plain_only: bool = False, limit: int = 3000
) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where} must be a text object"]
    kind = value.get("type")
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if kind not in allowed:
        return [f"{where}.type must be one of {', '.join(allowed)}"]
    text = value.get("text")
    if not isinstance(text, str) or not text:
        return [f"{where}.text must be a non-empty string"]
    if len(text) > limit:
        return [f"{where}.text must be at most {limit} characters"]
    return []


def _confirm(value: Any, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where} must be an object"]
    errors = _text_object(value.get("title"), f"{where}.title", plain_only=True, limit=100)
    errors += _text_object(value.get("text"), f"{where}.text", limit=300)
    errors += _text_object(value.get("confirm"), f"{where}.confirm", plain_only=True, limit=30)
    errors += _text_object(value.get("deny"), f"{where}.deny", plain_only=True, limit=30)
    if value.get("style") not in (None, "primary", "danger"):
        errors.append(f"{where}.style must be primary or danger")
    return errors


def _element(value: Any, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where} must be an object"]
    kind = value.get("type")
    if kind == "button":
        errors = _text_object(value.get("text"), f"{where}.text", plain_only=True, limit=75)
        action_id = value.get("action_id")
        if action_id is not None and (not isinstance(action_id, str) or len(action_id) > 255):
            errors.append(f"{where}.action_id must be a string of at most 255 characters")
        if "value" in value and (not isinstance(value["value"], str) or len(value["value"]) > 2000):
            errors.append(f"{where}.value must be a string of at most 2000 characters")
        if value.get("style") not in (None, "primary", "danger"):
            errors.append(f"{where}.style must be primary or danger")
        if "confirm" in value:
            errors += _confirm(value["confirm"], f"{where}.confirm")
        return errors
    if kind == "plain_text_input":
        return [] if isinstance(value.get("action_id", ""), str) else [f"{where}.action_id"]
    if kind == "image":
        return (
            []
            if value.get("image_url") and value.get("alt_text")
            else [f"{where} needs image_url and alt_text"]
        )
    return [f"{where}.type {kind!r} is not supported"]


def _string(value: Any, where: str, limit: int, *, required: bool) -> list[str]:
    if value is None and not required:
        return []
    if not isinstance(value, str) or not value or len(value) > limit:
        return [f"{where} must be a string of 1 to {limit} characters"]
    return []


def _feedback_button(value: Any, where: str) -> list[str]:
    """A feedback button object: plain_text `text` (75), `value` (2,000), optional
    `accessibility_label` (75) (docs.slack.dev/reference/block-kit/block-elements/
    feedback-buttons-element#button-object-fields)."""
    if not isinstance(value, dict):
        return [f"{where} must be an object"]
    errors = _text_object(value.get("text"), f"{where}.text", plain_only=True, limit=75)
    errors += _string(value.get("value"), f"{where}.value", 2000, required=True)
    label = value.get("accessibility_label")
    return errors + _string(label, f"{where}.accessibility_label", 75, required=False)


def _context_action(value: Any, where: str) -> list[str]:
    """A `feedback_buttons` or `icon_button` element of a `context_actions` block."""
    if not isinstance(value, dict):
        return [f"{where} must be an object"]
    errors = _string(value.get("action_id"), f"{where}.action_id", 255, required=False)
    kind = value.get("type")
    if kind == "feedback_buttons":
        for side in ("positive_button", "negative_button"):
            errors += _feedback_button(value.get(side), f"{where}.{side}")
        return errors
    if kind == "icon_button":
        errors += _string(value.get("icon"), f"{where}.icon", 255, required=True)
        errors += _text_object(value.get("text"), f"{where}.text", plain_only=True, limit=75)
        return errors + _string(value.get("value"), f"{where}.value", 2000, required=False)
    return [f"{where}.type must be feedback_buttons or icon_button"]


def _context_actions(block: dict[str, Any], where: str) -> list[str]:
    """docs.slack.dev/reference/block-kit/blocks/context-actions-block: 1 to 5 elements."""
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= 5:
        return [f"{where}.elements must have 1 to 5 items"]
    errors = [
        error
        for i, item in enumerate(elements)
        for error in _context_action(item, f"{where}.elements[{i}]")
    ]
    ids = [e.get("action_id") for e in elements if isinstance(e, dict) and e.get("action_id")]
    if len(ids) != len(set(ids)):
        errors.append(f"{where} action_id values must be unique")
    return errors


def _rich_text(block: dict[str, Any], where: str) -> list[str]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        return [f"{where}.elements must be a non-empty array"]
    kinds = ("rich_text_section", "rich_text_preformatted", "rich_text_quote", "rich_text_list")
    return [
        f"{where}.elements[{i}].type must be one of {', '.join(kinds)}"
        for i, element in enumerate(elements)
        if not isinstance(element, dict) or element.get("type") not in kinds
    ]


def _block(block: Any, where: str) -> list[str]:
    if not isinstance(block, dict):
        return [f"{where} must be an object"]
    kind = block.get("type")
    block_id = block.get("block_id")
    if block_id is not None and (not isinstance(block_id, str) or len(block_id) > 255):
        return [f"{where}.block_id must be a string of at most 255 characters"]
    if kind == "section":
        errors: list[str] = []
        if "text" in block:
            errors += _text_object(block["text"], f"{where}.text")
        elif not block.get("fields"):
            errors.append(f"{where} needs text or fields")
        for i, item in enumerate(block.get("fields") or []):
            errors += _text_object(item, f"{where}.fields[{i}]", limit=2000)
        if "accessory" in block:
            errors += _element(block["accessory"], f"{where}.accessory")
        return errors
    if kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            return [f"{where}.elements must have 1 to 10 items"]
        return [
            error
            for i, item in enumerate(elements)
            for error in (
                _element(item, f"{where}.elements[{i}]")
                if isinstance(item, dict) and item.get("type") == "image"
                else _text_object(item, f"{where}.elements[{i}]")
            )
        ]
    if kind == "divider":
        return []
    if kind == "header":
        return _text_object(block.get("text"), f"{where}.text", plain_only=True, limit=150)
    if kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
            return [f"{where}.elements must have 1 to 25 items"]
        return [
            e for i, item in enumerate(elements) for e in _element(item, f"{where}.elements[{i}]")
        ]
    if kind == "context_actions":
        return _context_actions(block, where)
    if kind == "markdown":
        text = block.get("text")
        ok = isinstance(text, str) and 0 < len(text) <= 12000
        return [] if ok else [f"{where}.text must be 1 to 12000 characters"]
    if kind == "rich_text":
        return _rich_text(block, where)
    if kind == "input":
        errors = _text_object(block.get("label"), f"{where}.label", plain_only=True, limit=2000)
        return errors + _element(block.get("element"), f"{where}.element")
    if kind == "image":
        return _element(block, where)
    return [f"{where}.type {kind!r} is not a supported block type"]


def validate_blocks(blocks: Any, *, limit: int = MAX_BLOCKS) -> list[str]:
    """Every problem with a blocks array; an empty list means valid."""
    if not isinstance(blocks, list):
        return ["blocks must be an array"]
    if len(blocks) > limit:
        return [f"no more than {limit} blocks are allowed"]
    errors = [e for i, block in enumerate(blocks) for e in _block(block, f"blocks[{i}]")]
    ids = [b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("block_id")]
    if len(ids) != len(set(ids)):
        errors.append("block_id values must be unique")
    return errors
