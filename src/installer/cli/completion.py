"""Shell completion scripts, generated from the argument parser itself so
they never drift from it: bash and zsh by shtab (a small, well-kept library
that does exactly this), fish by the few lines below (shtab has no fish)."""

from __future__ import annotations

import argparse

import shtab


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    if shell == "fish":
        return _fish(parser)
    return shtab.complete(parser, shell=shell)


def _q(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish(parser: argparse.ArgumentParser) -> str:
    prog = parser.prog
    lines = [f"# fish completion for {prog} (generated: {prog} completion fish)", f"complete -c {prog} -f"]

    def walk(p: argparse.ArgumentParser, path: list[str]) -> None:
        cond = (f"__fish_seen_subcommand_from {path[-1]}" if path else "__fish_use_subcommand")
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {a.dest: a.help or "" for a in action._choices_actions}
                for name, sp in action.choices.items():
                    lines.append(f"complete -c {prog} -n {_q(cond)} -a {name} -d {_q(helps.get(name, ''))}")
                    walk(sp, [*path, name])
            elif action.option_strings and action.help != argparse.SUPPRESS:
                longs = [o[2:] for o in action.option_strings if o.startswith("--")]
                shorts = [o[1:] for o in action.option_strings if o.startswith("-") and not o.startswith("--")]
                spec = " ".join([*(f"-l {x}" for x in longs), *(f"-s {x}" for x in shorts)])
                choices = f" -r -a {_q(' '.join(map(str, action.choices)))}" if action.choices else ""
                lines.append(f"complete -c {prog} -n {_q(cond if path else '__fish_use_subcommand')} {spec}"
                             f"{choices} -d {_q((action.help or '').split(';')[0][:80])}")
            elif not action.option_strings and path and action.dest not in ("help",):
                lines.append(f"complete -c {prog} -n {_q(cond)} -F")

    walk(parser, [])
    return "\n".join(lines) + "\n"


__all__ = ["script"]
