"""``completion bash|zsh``: a shell completion script, made from the parser itself.

It completes commands, their options, the choices of options that have them
(``--status``, ``--invoker``), and execution names (from ``executions --names``)
where a command takes EXECUTION. zsh runs the same script through its
``bashcompinit``.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trio_durable.cli.options import Subcommands


def register(commands: Subcommands) -> None:
    completion = commands.add_parser(
        "completion",
        help="print a shell completion script",
        description='Print a completion script. bash: add `eval "$(trio-durable completion'
        ' bash)"` to ~/.bashrc. zsh: add `eval "$(trio-durable completion zsh)"` to ~/.zshrc.',
    )
    completion.add_argument("shell", choices=("bash", "zsh"), help="the shell")
    completion.set_defaults(handler=_cmd_completion)


def _cmd_completion(args: argparse.Namespace) -> int:
    script = bash_script(args.root_parser)
    if args.shell == "zsh":
        script = _ZSH_HEAD + script
    print(script, end="")
    return 0


def _walk(
    parser: argparse.ArgumentParser, path: str
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """``(command path, parser)`` of ``parser`` and every subcommand below it.

    argparse has no public way to list a parser's arguments; ``_actions`` and
    ``_SubParsersAction`` are what completion tools (argcomplete too) read.
    """
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, f"{path} {name}".strip())


def _words(values: Iterable[object]) -> str:
    return " ".join(shlex.quote(str(value)) for value in values)


def _case(label: str, words: Iterable[object]) -> str:
    """One branch of a bash ``case``: ``"label") words='...' ;;``."""
    return f'        "{label}") words={shlex.quote(_words(words))} ;;'


def bash_script(parser: argparse.ArgumentParser) -> str:
    """The bash completion function for ``parser``'s command tree."""
    paths: list[str] = []  # 'parent:word' patterns that enter a subcommand
    options: list[str] = []  # command -> its options
    choices: list[str] = []  # command:option -> the option's choices
    positionals: list[str] = []  # command -> words for its next positional
    executions: list[str] = []  # commands whose positional is an EXECUTION
    for path, sub in _walk(parser, ""):
        flags: list[str] = []
        for action in sub._actions:
            if action.option_strings:
                flags.extend(action.option_strings)
                if action.choices:
                    choices.extend(
                        _case(f"{path}:{flag}", action.choices) for flag in action.option_strings
                    )
            elif isinstance(action, argparse._SubParsersAction):
                positionals.append(_case(path, action.choices))
                paths.extend(f'"{path}:{name}"' for name in action.choices)
            elif action.dest == "execution":
                executions.append(f'"{path}"')
            elif action.choices:
                positionals.append(_case(path, action.choices))
        options.append(_case(path, flags))
    return _BASH.format(
        paths="|".join(paths),
        options="\n".join(options),
        choices="\n".join(choices),
        positionals="\n".join(positionals),
        executions="|".join(executions) or '"-"',
    )


_ZSH_HEAD = """\
# zsh runs trio-durable's bash completion through bashcompinit.
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
"""

_BASH = """\
# trio-durable completion (made by `trio-durable completion`)
_trio_durable() {{
    [[ -n ${{ZSH_VERSION-}} ]] && setopt localoptions ksharrays
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    local cmd="" words="" word i
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${{COMP_WORDS[i]}}"
        case "$cmd:$word" in
            {paths}) cmd="${{cmd:+$cmd }}$word" ;;
        esac
    done
    case "$cmd:$prev" in
{choices}
        *) words="-" ;;
    esac
    if [[ $words == "-" ]]; then
        words=""
        if [[ $cur == -* ]]; then
            case "$cmd" in
{options}
            esac
        else
            case "$cmd" in
{positionals}
                {executions}) words="$(trio-durable executions --names 2>/dev/null)" ;;
            esac
        fi
    fi
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}}
complete -o default -F _trio_durable trio-durable
"""
