"""Message templates: field values fitted to WeChat's rules, and `content lint` of content/templates.toml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flask import Flask

from bot import content
from services import delivery_templates as templates
from services.delivery_templates import Template


def test_values_are_cleaned_and_cut_to_their_type() -> None:
    assert templates.fit("thing", "第一行\n第二行") == "第一行 第二行"
    assert templates.fit("thing", "长" * 30) == "长" * 19 + "…"
    assert templates.fit("phrase", "已通过 OK") == "已通过"
    assert templates.fit("character_string", "A" * 40) == "A" * 32
    assert templates.fit("time", "2026年12月5日 14:00") == "2026年12月5日 14:00"


def test_render_fills_fields_and_refuses_what_cannot_fit() -> None:
    t = Template(
        key="t",
        subscription="tmpl",
        subscription_fields={"thing1": "{title}：{activity}", "time2": "{start}", "phrase3": "{result}"},
        defaults={"result": "已报名"},
    )
    data, problem = templates.render(
        t, "subscription", {"title": "提醒", "activity": "读书会", "start": "15:30"}
    )
    assert problem is None and data == {"thing1": "提醒：读书会", "time2": "15:30", "phrase3": "已报名"}
    assert (
        templates.render(t, "subscription", {"title": "x", "activity": "y"})[1]
        == "value start missing for time2"
    )
    bad_time = templates.render(t, "subscription", {"title": "x", "activity": "y", "start": "明天"})[1]
    assert bad_time is not None and bad_time.startswith("data.time2.value invalid")
    assert templates.render(t, "template", {})[1] == "no template template"


def test_the_shipped_templates_pass_lint_and_serve_the_status_notices() -> None:
    assert templates.lint() == []
    assert templates.for_kind("application_status") == "status_update"
    assert templates.for_kind("waitlist_promoted") == "signup_result"


def test_lint_names_each_problem(tmp_path: Path) -> None:
    path = tmp_path / "templates.toml"
    path.write_text(
        """
[empty]
kinds = ["a"]
[one]
template = "tmpl_status"
kinds = ["a"]
[one.template_fields]
thing1 = "{title"
wat2 = "{title}"
[two]
subscription_fields = { thing1 = "x" }
[three]
template = "t3"
[three.template_fields]
phrase1 = "not chinese"
""",
        encoding="utf-8",
    )
    problems = templates.lint(path)
    expected = [
        "[empty] names neither a subscription nor a template id",
        "[one] template field thing1: pattern broken",
        "[one] template field wat2: unknown type 'wat'",
        "[one] kind a is already served by [empty]",
        "[two] has subscription_fields but no subscription id",
        "[three] template field phrase1: fixed text invalid (Chinese characters only)",
    ]
    for fragment in expected:
        assert any(fragment in p for p in problems), (fragment, problems)
    assert templates.lint(tmp_path / "missing.toml")[0].startswith("templates.toml:")


def test_content_lint_command_checks_templates(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "content"
    shutil.copytree(content.CONTENT_DIR, copy)
    monkeypatch.setattr(content, "CONTENT_DIR", copy)
    content.reload()
    try:
        result = app.test_cli_runner().invoke(args=["content", "lint"])
        assert result.exit_code == 0, result.output
        broken = (
            (copy / "templates.toml")
            .read_text(encoding="utf-8")
            .replace('time2 = "{start}"', 'time2 = "{start"')
        )
        (copy / "templates.toml").write_text(broken, encoding="utf-8")
        result = app.test_cli_runner().invoke(args=["content", "lint"])
        assert result.exit_code == 1
        assert "templates.toml: [activity_reminder] subscription field time2: pattern broken" in result.output
    finally:
        monkeypatch.undo()
        content.reload()
