"""The one parse of a shell command: tree-sitter-bash, read into a plain script or refused.

A command may run without a person only if its whole syntax tree lies in a small plain subset:
words and quotes, pipes (`|`), lists (`&&`, `||`, `;`, newlines), a few redirections
(`< file`, `> /dev/null`, `2> /dev/null`, `2>&1`, `&> /dev/null`) and comments. Such a tree
becomes a `Script` that `tools.shell.executor` runs itself, without `/bin/sh`, so what was
classified is what runs. Anything else (substitutions, variables other than a few plain ones,
subshells, functions, background jobs, here-documents, assignments, brace expansion, ...) is
`NotPlain`, with the reasons a person reads on the approval card.

Grammar: https://github.com/tree-sitter/tree-sitter-bash (node names below are its own).
"""

from __future__ import annotations

import functools
import re

import tree_sitter
import tree_sitter_bash

from tools.shell.script import (
    Connector,
    Pipeline,
    Redirect,
    RedirectOp,
    Script,
    Segment,
    SimpleCommand,
    Word,
)

# Variables a plain command may use; they expand from the confined process's own environment.
PLAIN_VARIABLES = frozenset({"HOME", "PATH", "PWD", "USER", "LANG", "TZ", "TMPDIR"})
_DQ_ESCAPES = {'"': '"', "\\": "\\", "$": "$", "`": "`", "\n": ""}


@functools.cache
def _parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_bash.language()))


def parse_tree(command: str) -> tree_sitter.Tree:
    """The tree-sitter-bash syntax tree of `command` (UTF-8)."""
    return _parser().parse(command.encode("utf-8"))


class NotPlain(Exception):
    """The command lies outside the plain subset; `reasons` say why, for the approver."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


_CONSTRUCTS = {
    "command_substitution": "a command substitution",
    "process_substitution": "a process substitution",
    "arithmetic_expansion": "arithmetic expansion",
    "subshell": "a subshell",
    "compound_statement": "a { } block",
    "function_definition": "a function definition",
    "if_statement": "an if statement",
    "for_statement": "a loop",
    "c_style_for_statement": "a loop",
    "while_statement": "a loop",
    "case_statement": "a case statement",
    "variable_assignment": "a variable assignment",
    "declaration_command": "a declaration (export, local, ...)",
    "unset_command": "unset",
    "test_command": "a [[ ]] test",
    "negated_command": "a negated command (!)",
    "heredoc_redirect": "a here-document",
    "herestring_redirect": "a here-string",
    "brace_expression": "brace expansion",
    "ansi_c_string": "a $'...' string",
    "translated_string": 'a $"..." string',
}


class _Reader:
    """Turns one tree into a Script, tracking every byte it consumed."""

    def __init__(self, source: bytes) -> None:
        self.source = source
        self.consumed = bytearray(len(source))
        self.reasons: list[str] = []

    def refuse(self, reason: str) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)

    def take(self, node: tree_sitter.Node) -> None:
        self.consumed[node.start_byte : node.end_byte] = b"\x01" * (node.end_byte - node.start_byte)

    def text(self, node: tree_sitter.Node) -> str:
        return self.source[node.start_byte : node.end_byte].decode("utf-8")

    def script(self, root: tree_sitter.Node) -> Script:
        steps: list[tuple[Connector, Pipeline]] = []
        connector: Connector = ";"
        for child in root.children:
            if child.type in (";", "\n"):
                self.take(child)
                connector = ";"
            elif child.type == "&":
                self.refuse("runs a command in the background (&)")
            elif child.type == "comment":
                self.take(child)
            else:
                self.statement(child, connector, steps)
                connector = ";"
        return Script(tuple(steps))

    def statement(
        self, node: tree_sitter.Node, connector: Connector, steps: list[tuple[Connector, Pipeline]]
    ) -> None:
        if node.type == "list":
            for child in node.children:
                if child.type in ("&&", "||"):
                    self.take(child)
                    connector = "&&" if child.type == "&&" else "||"
                elif child.type == "comment":
                    self.take(child)
                else:
                    self.statement(child, connector, steps)
            return
        steps.append((connector, self.pipeline(node)))

    def pipeline(self, node: tree_sitter.Node) -> Pipeline:
        if node.type != "pipeline":
            return Pipeline((self.command(node),))
        commands: list[SimpleCommand] = []
        for child in node.children:
            if child.type == "|":
                self.take(child)
            elif child.type == "|&":
                self.take(child)
                if commands:  # `a |& b` is `a 2>&1 | b`
                    last = commands[-1]
                    merged = Redirect(2, "dup", Word((Segment("1", False),)))
                    commands[-1] = SimpleCommand(last.words, (*last.redirects, merged))
            else:
                commands.append(self.command(child))
        return Pipeline(tuple(commands))

    def command(self, node: tree_sitter.Node) -> SimpleCommand:
        redirects: list[Redirect] = []
        if node.type == "redirected_statement":
            body = node.child_by_field_name("body")
            for child in node.children:
                if child == body:
                    continue
                if child.type == "file_redirect":
                    redirects.append(self.redirect(child))
                else:
                    self.refuse(_CONSTRUCTS.get(child.type, f"{child.type.replace('_', ' ')}"))
            if body is None:
                self.refuse("a redirection without a command")
                return SimpleCommand((), tuple(redirects))
            node = body
        if node.type != "command":
            self.refuse(_CONSTRUCTS.get(node.type, f"{node.type.replace('_', ' ')}"))
            return SimpleCommand((), tuple(redirects))
        words: list[Word] = []
        for child in node.children:
            if child.type == "command_name":
                self.take(child)
                words.extend(self.word(part) for part in child.children)
            elif child.type == "file_redirect":
                redirects.append(self.redirect(child))
            elif child.type == "comment":
                self.take(child)
            else:
                words.append(self.word(child))
        return SimpleCommand(tuple(words), tuple(redirects))

    def redirect(self, node: tree_sitter.Node) -> Redirect:
        self.take(node)
        fd: int | None = None
        operator = ""
        targets: list[tree_sitter.Node] = []
        for child in node.children:
            if child.type == "file_descriptor":
                fd = int(self.text(child))
            elif not child.is_named:
                operator = child.type
            else:
                targets.append(child)
        if len(targets) != 1:  # tree-sitter-bash reads `<a b` as two targets; sh does not
            self.refuse("a redirection this parser reads differently from the shell")
            return Redirect(fd or 0, "read", Word(()))
        target = self.word(targets[0])
        ops: dict[str, tuple[int, RedirectOp]] = {
            "<": (0, "read"), ">": (1, "write"), ">>": (1, "append"), ">|": (1, "write"),
            ">&": (1, "dup"), "&>": (1, "write"), "&>>": (1, "append"),
        }  # fmt: skip
        if operator not in ops:
            self.refuse(f"the redirection {operator}")
            return Redirect(fd or 0, "read", target)
        default_fd, op = ops[operator]
        if operator in ("&>", "&>>"):
            if fd is not None:
                self.refuse(f"the redirection {fd}{operator}")
            return Redirect(-1, op, target)  # -1: standard output and standard error
        if op == "dup" and not target.text.isdigit():
            op = "write"  # `>& file` is `&> file`
            return Redirect(-1 if fd is None else fd, op, target)
        return Redirect(default_fd if fd is None else fd, op, target)

    def word(self, node: tree_sitter.Node) -> Word:
        self.take(node)
        return Word(tuple(self.segments(node)))

    def segments(self, node: tree_sitter.Node) -> list[Segment]:
        kind = node.type
        if kind in ("word", "number"):
            return [self.bare(self.text(node))]
        if kind == "raw_string":
            return [Segment(self.text(node)[1:-1], True)]
        if kind == "string":
            return self.double_quoted(node)
        if kind == "concatenation":
            return [s for child in node.children for s in self.segments(child)]
        if kind in ("simple_expansion", "expansion"):
            return [self.variable(node)]
        self.refuse(_CONSTRUCTS.get(kind, f"{kind.replace('_', ' ')}"))
        return [Segment(self.text(node), True)]

    def bare(self, raw: str) -> Segment:
        if "{" in raw or "}" in raw:
            self.refuse("brace expansion")
        if raw.startswith("~") and not (raw == "~" or raw.startswith("~/")):
            self.refuse("another user's home directory (~user)")
        if "\\" in raw:
            # an escaped glob character is literal: keep it out of the unquoted text
            if re.search(r"\\[*?\[]", raw):
                self.refuse("an escaped glob character")
            raw = re.sub(r"\\\n", "", raw)
            raw = re.sub(r"\\(.)", r"\1", raw, flags=re.DOTALL)
        return Segment(raw, False)

    def double_quoted(self, node: tree_sitter.Node) -> list[Segment]:
        out: list[Segment] = []
        position = node.start_byte + 1
        inner = [c for c in node.children if c.type != '"']
        for child in inner:
            if child.start_byte > position:
                out.append(self.quoted_text(self.source[position : child.start_byte]))
            if child.type == "string_content":
                out.append(self.quoted_text(self.source[child.start_byte : child.end_byte]))
            elif child.type in ("simple_expansion", "expansion"):
                out.append(self.variable(child))
            else:
                self.refuse(_CONSTRUCTS.get(child.type, f"{child.type.replace('_', ' ')}"))
            position = child.end_byte
        end = node.end_byte - 1
        if end > position:
            out.append(self.quoted_text(self.source[position:end]))
        return out

    def quoted_text(self, raw: bytes) -> Segment:
        text = raw.decode("utf-8")
        text = re.sub(r'\\(["\\$`\n])', lambda m: _DQ_ESCAPES[m.group(1)], text)
        return Segment(text, True)

    def variable(self, node: tree_sitter.Node) -> Segment:
        names = [c for c in node.children if c.is_named]
        if len(names) == 1 and names[0].type == "variable_name":
            name = self.text(names[0])
            if name in PLAIN_VARIABLES:
                return Segment("", True, variable=name)
        self.refuse(f"the expansion {self.text(node)}")
        return Segment("", True)

    def leftovers(self) -> list[str]:
        """Source bytes no node accounted for, other than blanks and line continuations."""
        text = bytes(
            b if not taken else 32 for b, taken in zip(self.source, self.consumed, strict=True)
        ).decode("utf-8", errors="replace")
        text = text.replace("\\\n", "  ")
        return [ch for ch in text if not ch.isspace()]


def plain_script(command: str) -> Script:
    """The command as a plain `Script`; raises `NotPlain` with the reasons it is not one."""
    tree = parse_tree(command)
    if tree.root_node.has_error:
        raise NotPlain(["does not parse as a shell command"])
    reader = _Reader(command.encode("utf-8"))
    script = reader.script(tree.root_node)
    if not reader.reasons and reader.leftovers():
        reader.refuse("text the parser could not place")
    if not reader.reasons and not script.steps:
        reader.refuse("an empty command")
    if not reader.reasons and any(not c.words for c in script.commands()):
        reader.refuse("a redirection without a command")
    if reader.reasons:
        raise NotPlain(reader.reasons)
    return script
