"""Loading ``module:attr`` and ``file.py:attr`` targets, and the errors for bad ones."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from trio_durable.errors import ValidationError
from trio_durable.local.targets import load_target, split_target


def test_module_target_loads_the_named_callable() -> None:
    assert load_target("json:dumps")([1]) == "[1]"
    assert load_target("os.path:join")("a", "b") == "a/b"


def test_dotted_attribute_is_followed() -> None:
    assert load_target("json:JSONDecoder.decode") is __import__("json").JSONDecoder.decode


def test_file_target_loads_and_can_import_its_siblings(tmp_path: Path) -> None:
    (tmp_path / "helper_mod_for_target.py").write_text("VALUE = 41\n")
    (tmp_path / "handler_file.py").write_text(
        textwrap.dedent(
            """
            import helper_mod_for_target

            def handler(event, context):
                return helper_mod_for_target.VALUE + event
            """
        )
    )
    handler = load_target(f"{tmp_path / 'handler_file.py'}:handler")
    assert handler(1, None) == 42


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("no_colon_here", "expected 'package.module:function'"),
        ("json:", "expected 'package.module:function'"),
        (":handler", "expected 'package.module:function'"),
        ("surely_not_a_module_xyz:handler", "no module named 'surely_not_a_module_xyz'"),
        ("json:no_such_function", "has no attribute 'no_such_function'"),
        ("json.decoder:NaN", "is a float, not a callable"),
        ("missing/file.py:handler", "does not exist"),
    ],
)
def test_bad_targets_say_what_is_wrong(target: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        load_target(target)
    assert fragment in str(info.value)
    assert target in str(info.value)


def test_a_module_that_raises_on_import_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "broken_handler.py"
    path.write_text("import surely_missing_dependency_abc\n")
    with pytest.raises(ValidationError) as info:
        load_target(f"{path}:handler")
    assert "ModuleNotFoundError" in str(info.value)
    assert "surely_missing_dependency_abc" in str(info.value)


def test_split_uses_the_last_colon() -> None:
    assert split_target("pkg.mod:attr") == ("pkg.mod", "attr")
    assert split_target("/a:b/file.py:handler") == ("/a:b/file.py", "handler")


def test_a_missing_dependency_of_a_module_is_not_called_a_missing_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "needs_missing_dep_mod.py").write_text("import surely_missing_dependency_def\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValidationError) as info:
        load_target("needs_missing_dep_mod:handler")
    assert "importing it raised ModuleNotFoundError" in str(info.value)
    assert "surely_missing_dependency_def" in str(info.value)
