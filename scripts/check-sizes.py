#!/usr/bin/env python3
"""Size limits for berth's sources (issue #16).

usage: scripts/check-sizes.py [--list] [ROOT]
  ROOT    the tree to check (default: the repository this script is in)
  --list  also print every function found, with its length (to check the
          heuristic)

Over ROOT/src/**/*.{h,cpp}: no file over 600 lines and no function body over
120 lines (from the line of its opening brace to that of its closing brace).
Each violation is printed as

    path: N lines (limit 600)
    path:line: function NAME is N lines (limit 120)

and the exit status is 1 if there is any, 0 otherwise. The ctest test `sizes`
runs it.

Functions are found by a brace-matching heuristic, not a C++ parser:
comments, string and character literals and preprocessor lines are blanked
first; then a `{` at file, namespace or class level is a function body when
what precedes it ends in `)` (possibly followed by const, noexcept, override,
final, `-> T`, ...), is a constructor with an initializer list, or is a lambda
(`auto f = [...](...) {`). Namespace, class, struct, union and enum bodies and
braced initializers are not functions. Lambdas and blocks inside a function
count towards that function.

Tables aside: a data table is not code. A braced initializer of a static (or
constexpr) variable inside a function does not count towards the function's
length, and a body whose opening line carries the comment
`// check-sizes: table` is a table too (neither a function nor counted).
"""

import os
import re
import sys

FILE_LIMIT = 600
FUNCTION_LIMIT = 120
TABLE_MARK = "// check-sizes: table"

DECLARATIVE = ("top", "namespace", "class")
# Scopes whose closing brace ends a statement (what follows starts afresh);
# after an initializer or expression brace the statement goes on.
STATEMENT_ENDING = ("namespace", "class", "function", "block")


def blank(text):
    """The text with comments, literals and preprocessor lines replaced by
    spaces (newlines kept, so offsets and line numbers still match)."""
    out = list(text)
    n = len(text)
    i = 0
    line_start = True  # only whitespace since the last newline

    def wipe(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        if c == "\n":
            line_start = True
            i += 1
            continue
        if c in " \t\r\f\v":
            i += 1
            continue
        if line_start and c == "#":
            # A preprocessor directive, with its continuation lines.
            j = i
            while j < n:
                if text[j] == "\n" and text[j - 1] != "\\":
                    break
                if text.startswith("//", j):
                    j = text.find("\n", j)
                    j = n if j < 0 else j
                    break
                if text.startswith("/*", j):
                    e = text.find("*/", j + 2)
                    j = n if e < 0 else e + 2
                    continue
                j += 1
            wipe(i, j)
            i = j
            continue
        line_start = False
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            wipe(i, j)
            i = j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            wipe(i, j)
            i = j
            continue
        if c == '"' and i > 0 and text[i - 1] == "R" and re.search(r"(^|[^\w])(u8|u|U|L)?R$", text[max(0, i - 3):i]):
            m = re.match(r'"([^()\\\s]{0,16})\(', text[i:])
            if m:
                end = text.find(")" + m.group(1) + '"', i + m.end())
                j = n if end < 0 else end + len(m.group(1)) + 2
                wipe(i + 1, j - 1)
                i = j
                continue
        if c == "'" and i > 0 and re.match(r"\w", text[i - 1]):
            # A digit separator (1'000) rather than a literal (u8'a', L'a')?
            m = re.search(r"[\w']*$", text[:i])
            if m and m.group(0)[:1].isdigit():
                i += 1
                continue
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            wipe(i + 1, min(j, n))
            i = j + 1
            continue
        i += 1
    return "".join(out)


def depth0_positions(s, chars):
    """Indexes of chars in s outside (), [] and {}."""
    depth = 0
    for k, ch in enumerate(s):
        if depth == 0 and ch in chars:
            yield k
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1


def strip_template(head):
    """Drops leading `template <...>` clauses and [[attributes]]."""
    while True:
        head = head.lstrip()
        if head.startswith("[["):
            e = head.find("]]")
            if e < 0:
                return head
            head = head[e + 2:]
            continue
        m = re.match(r"template\s*<", head)
        if not m:
            return head
        depth, k = 0, m.end() - 1
        while k < len(head):
            if head[k] == "<":
                depth += 1
            elif head[k] == ">":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        head = head[k + 1:]


def strip_trailing_qualifiers(head):
    """`f(int) const noexcept -> T` -> `f(int)`."""
    # A trailing return type: `->` outside brackets.
    for k in depth0_positions(head, "-"):
        if head.startswith("->", k) and not re.search(r"\boperator\s*$", head[:k]):
            head = head[:k]
            break
    while True:
        h = head.rstrip()
        m = re.search(r"(\b(const|volatile|noexcept|override|final|mutable|constexpr|try)|&&|&)$", h)
        if m:
            head = h[: m.start()]
            continue
        if h.endswith(")"):
            # noexcept(expr)
            depth, k = 0, len(h) - 1
            while k >= 0:
                if h[k] == ")":
                    depth += 1
                elif h[k] == "(":
                    depth -= 1
                    if depth == 0:
                        break
                k -= 1
            if k > 0 and re.search(r"\bnoexcept\s*$", h[:k]):
                head = re.sub(r"\bnoexcept\s*$", "", h[:k])
                continue
        return h


KEYWORDS_BEFORE_PAREN = {"__attribute__", "alignas", "decltype", "noexcept", "sizeof", "alignof", "requires"}


def matching_open(h, close):
    """Index of the bracket that h[close] closes."""
    pairs = {")": "(", "]": "["}
    depth, k = 0, close
    while k >= 0:
        if h[k] == h[close]:
            depth += 1
        elif h[k] == pairs[h[close]]:
            depth -= 1
            if depth == 0:
                return k
        k -= 1
    return -1


def ctor_colon(h):
    """Where a constructor's initializer list starts (`X(...) : a_(a)`), or -1."""
    for k in depth0_positions(h, ":"):
        if h[k - 1 : k + 1] == "::" or h[k : k + 2] == "::":
            continue
        return k if strip_trailing_qualifiers(h[:k]).endswith(")") else -1
    return -1


def assignment(h):
    """Index of a `=` outside brackets that is an assignment, or -1."""
    for k in depth0_positions(h, "="):
        if h[k - 1 : k + 1] in ("==", "!=", "<=", ">=") or h[k + 1 : k + 2] == "=":
            continue
        if re.search(r"\boperator\s*\W*$", h[:k]):
            continue
        return k
    return -1


def function_name(head):
    """The name a function head declares, e.g. `Cgroup::stats`, and where in
    head it is."""
    m = re.search(r"\boperator\b\s*(\(\s*\)|[^(]*)", head)
    if m:
        p = re.search(r"((?:\w+::)*)\s*$", head[: m.start()])
        op = re.sub(r"\s+", " ", m.group(1).strip())
        return p.group(1) + "operator" + (" " if op[:1].isalnum() else "") + op, p.start()
    off = access_specifier(head)
    off += len(head[off:]) - len(strip_template(head[off:]))  # a suffix of head
    h = head[off:]
    if (k := ctor_colon(h)) >= 0:
        h = h[:k]
    if (k := assignment(h)) >= 0:
        # A lambda held by a variable: `auto f = [...](...) {`.
        m = re.search(r"(\w+)\s*$", h[:k])
        return (m.group(1), off + m.start()) if m else ("<lambda>", off + k)
    t = strip_trailing_qualifiers(h)
    if t.endswith(")"):
        k = matching_open(t, len(t) - 1)
        m = re.search(r"((?:\w+::)*~?\w+)\s*$", t[:k]) if k > 0 else None
        if m:
            return m.group(1), off + m.start()
    return "<unknown>", len(head.rstrip())


def access_specifier(head):
    """Length of a leading `public:` (private, protected) in a class-level head."""
    m = re.match(r"\s*(public|private|protected)\s*:(?!:)", head)
    return m.end() if m else 0


def is_lambda_tail(h):
    """h ends with a lambda introducer `[...]` (not an array bound)."""
    if not h.endswith("]"):
        return False
    depth, k = 0, len(h) - 1
    while k >= 0:
        if h[k] == "]":
            depth += 1
        elif h[k] == "[":
            depth -= 1
            if depth == 0:
                break
        k -= 1
    before = h[:k].rstrip()
    return before == "" or before[-1] in "=(,{" or before.endswith("return")


def classify(head):
    """What a `{` at file, namespace or class level opens."""
    h = strip_template(re.sub(r"\s+", " ", head[access_specifier(head) :]).strip())
    if re.match(r"(inline )?namespace\b", h) or re.match(r'extern ?"', h):
        return "namespace"
    if re.match(r"(typedef )?(class|struct|union|enum)\b", h) and assignment(h) < 0:
        return "class"
    # A constructor's initializer list: `X(...) : a_(a), b_{b}`.
    if "operator" not in h and ctor_colon(h) >= 0 and h[-1:] in ")}":
        return "function"
    t = strip_trailing_qualifiers(h)
    if t.endswith(")") or is_lambda_tail(t):
        return "function"
    return "init"


def is_static_init(head):
    """A braced initializer of a static or constexpr variable (a table)."""
    h = re.sub(r"\s+", " ", head).strip()
    if not re.match(r"(const )?(static|constexpr)\b", h):
        return False
    return h.endswith("=") or bool(re.search(r"[\w\]>]$", h)) and not is_lambda_tail(h)


class Scope:
    def __init__(self, kind, open_line, name="", start=0):
        self.kind = kind
        self.open_line = open_line
        self.name = name
        self.head_start = start
        self.parens = 0
        self.table_lines = 0  # lines of tables inside (functions only)
        self.name_line = open_line


def check_functions(path, text):
    """[(line, name, length)] of every function body in text."""
    code = blank(text)
    raw_lines = text.split("\n")
    line_of = []
    line = 1
    for ch in code:
        line_of.append(line)
        if ch == "\n":
            line += 1

    def marked(ln):
        return TABLE_MARK in raw_lines[ln - 1]

    found = []
    stack = [Scope("top", 1)]
    for i, c in enumerate(code):
        top = stack[-1]
        if c == "(":
            top.parens += 1
        elif c == ")":
            top.parens -= 1
        elif c == ";" and top.parens <= 0:
            top.head_start = i + 1
            top.parens = 0
        elif c == "{":
            head = code[top.head_start : i]
            ln = line_of[i]
            if marked(ln):
                kind = "table"
            elif top.kind in DECLARATIVE:
                kind = "expr" if top.parens > 0 else classify(head)
            else:
                kind = "table" if top.parens <= 0 and is_static_init(head) else "block"
            s = Scope(kind, ln, start=i + 1)
            if kind == "class":
                s.name = class_name(head)
            elif kind == "function":
                s.name, at = function_name(head)
                s.name_line = line_of[top.head_start + at] if top.head_start + at < i else ln
                outer = [x.name for x in stack if x.kind == "class" and x.name]
                if outer and "::" not in s.name:
                    s.name = "::".join(outer + [s.name])
            stack.append(s)
        elif c == "}":
            if len(stack) == 1:
                print(f"{path}:{line_of[i]}: warning: unbalanced '}}' (check-sizes gave up on this file)",
                      file=sys.stderr)
                return found
            s = stack.pop()
            close = line_of[i]
            length = close - s.open_line + 1
            if s.kind == "function":
                found.append((s.name_line, s.name, length - s.table_lines))
            elif s.kind == "table":
                # Only the outermost table counts; it counts against the
                # function it is in.
                for x in reversed(stack):
                    if x.kind == "table":
                        break
                    if x.kind == "function":
                        x.table_lines += length
                        break
            parent = stack[-1]
            if s.kind in STATEMENT_ENDING or (s.kind == "table" and marked(s.open_line)):
                parent.head_start = i + 1
                parent.parens = 0
    if len(stack) != 1:
        print(f"{path}: warning: {len(stack) - 1} unclosed '{{' (check-sizes may be wrong here)",
              file=sys.stderr)
    return found


def class_name(head):
    h = strip_template(re.sub(r"\s+", " ", head).strip())
    m = re.match(r"(?:typedef )?(?:class|struct|union|enum)(?: class| struct)?(?: \[\[.*?\]\])? ?(\w*)", h)
    return m.group(1) if m else ""


def main(argv):
    # --list: every function found, with its length (to check the heuristic).
    listing = "--list" in argv
    argv = [a for a in argv if a != "--list"]
    root = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    src = os.path.join(root, "src")
    files = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for f in sorted(filenames):
            if f.endswith((".h", ".cpp")):
                files.append(os.path.join(dirpath, f))
    if not files:
        print(f"check-sizes: no sources under {src}", file=sys.stderr)
        return 2
    bad = 0
    for f in files:
        rel = os.path.relpath(f, root)
        with open(f, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        if lines > FILE_LIMIT:
            print(f"{rel}: {lines} lines (limit {FILE_LIMIT})")
            bad += 1
        for line, name, length in check_functions(rel, text):
            if listing:
                print(f"{rel}:{line}: {name} {length}")
            if length > FUNCTION_LIMIT:
                print(f"{rel}:{line}: function {name} is {length} lines (limit {FUNCTION_LIMIT})")
                bad += 1
    if bad:
        print(f"check-sizes: {bad} violation(s) in {len(files)} files", file=sys.stderr)
        return 1
    print(f"check-sizes: {len(files)} files within limits")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
