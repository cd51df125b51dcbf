"""The intents and content commands, content lint, and menu sync against the WeChat stand-in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flask import Flask

from bot import content
from bot.wechat.errors import WeChatAPIError
from sandbox import SandboxServer

EVAL = Path(__file__).resolve().parents[1] / "content" / "eval" / "intents_eval.csv"


def _run(app: Flask, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=list(args), input=stdin)
    return result.exit_code, result.output


def test_classify_one_text(app: Flask) -> None:
    code, out = _run(app, "intents", "classify", "有什么实习")
    assert code == 0 and out == "traineeship\t有什么实习\n"


def test_classify_stdin_one_line_each(app: Flask) -> None:
    code, out = _run(app, "intents", "classify", stdin="你好\n我不想活了\n\n周末有什么活动\n")
    assert code == 0
    assert out.splitlines() == ["greeting\t你好", "crisis\t我不想活了", "activity\t周末有什么活动"]


def test_eval_prints_per_intent_scores_confusions_and_accuracy_last(app: Flask, tmp_path: Path) -> None:
    sample = tmp_path / "sample.csv"
    sample.write_text(
        "text,intent\n有什么实习,traineeship\n你好,greeting\n我想相亲,matchmaking\n今天天气,activity\n"
    )
    code, out = _run(app, "intents", "eval", str(sample))
    assert code == 0, out
    lines = out.strip().splitlines()
    assert lines[0].split() == ["intent", "precision", "recall", "f1", "support"]
    assert any(line.startswith("traineeship") for line in lines)
    assert "confused (expected -> predicted: count):" in lines
    assert any(line.strip().startswith("activity -> ") for line in lines)
    assert lines[-1] == "accuracy: 0.75"


def test_eval_refuses_unknown_intents(app: Flask, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("text,intent\n你好,chitchat\n")
    code, out = _run(app, "intents", "eval", str(bad))
    assert code != 0 and "chitchat" in out


def test_shipped_evaluation_set_meets_the_target(app: Flask) -> None:
    code, out = _run(app, "intents", "eval", str(EVAL))
    assert code == 0, out
    accuracy = float(out.strip().splitlines()[-1].split(":")[1])
    assert accuracy >= 0.90, out


def test_shipped_content_is_clean(app: Flask) -> None:
    code, out = _run(app, "content", "lint")
    assert code == 0, out
    assert "content ok" in out


@pytest.fixture
def scratch_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "content"
    shutil.copytree(content.CONTENT_DIR, copy)
    monkeypatch.setattr(content, "CONTENT_DIR", copy)
    content.reload()
    yield copy
    monkeypatch.undo()
    content.reload()


def test_lint_reports_each_kind_of_problem(app: Flask, scratch_content: Path) -> None:
    intents = scratch_content / "intents.toml"
    intents.write_text(intents.read_text() + '\n[chitchat]\nkeywords = ["实习"]\n')
    replies = scratch_content / "replies.toml"
    replies.write_text(
        replies.read_text().replace('nothing_to_cancel = """', 'nothing_to_cancel = """{oops}')
        + '\nextra_long = """'
        + "长" * 700
        + '"""\n'
    )
    directory = scratch_content / "help_directory.toml"
    directory.write_text(directory.read_text().replace('phone = "12356"', 'phone = "12-356x"'))
    code, out = _run(app, "content", "lint")
    assert code == 1
    assert "unknown intent 'chitchat'" in out
    assert "'实习' is under both traineeship and chitchat" in out
    assert "nothing_to_cancel uses ['oops']" in out
    assert "extra_long is over 2048 bytes" in out
    assert "malformed phone '12-356x'" in out


def test_content_edits_apply_without_restart_in_development(make_app, scratch_content: Path) -> None:  # type: ignore[no-untyped-def]
    import time

    from tests.conftest import AES_KEY, APPID, TOKEN
    from tests.wechat_factory import WeChatPusher

    app = make_app(APP_ENV="development")
    pusher = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY)
    assert "小助手" in pusher.text("你好").text
    replies = scratch_content / "replies.toml"
    replies.write_text(replies.read_text().replace("我是团区委的小助手", "我是新的小助手"))
    time.sleep(1.1)
    assert "新的小助手" in pusher.text("你好").text


def test_menu_show_and_sync(app: Flask, sandbox: SandboxServer) -> None:
    code, out = _run(app, "menu", "show")
    assert code == 0 and '"button"' in out and "TRAINEESHIP" in out
    code, out = _run(app, "menu", "sync")
    assert code == 0, out
    assert sandbox.state.menu is not None
    names = [b["name"] for b in sandbox.state.menu["button"]]
    assert names == ["青年服务", "12355", "我的"]
    # WeChat's own validation applies: a name over 16 bytes is refused and the command says so.
    sandbox.state.menu = None
    menu = {"button": [{"type": "click", "name": "一个非常非常长的菜单名字", "key": "X"}]}
    client = app.extensions["wechat_client"]
    with pytest.raises(WeChatAPIError) as err:
        client.create_menu(menu)
    assert err.value.errcode == 40018 and sandbox.state.menu is None
