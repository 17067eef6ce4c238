"""Rooms of one job each: no source file in the checked folders over MAX_FILE lines, no function
over MAX_FUNCTION lines (from its signature to its closing brace). Run by `meson test` (layout).

    python3 check_layout.py SOURCE_ROOT [FOLDER...]      default folders: exec tools

Functions are found by brace matching on the source with comments and literals blanked out; a
brace opens a function body when it follows a parameter list (optionally const, override,
noexcept, a trailing return type or a constructor's initializer list) outside any other function.
"""
import pathlib
import re
import sys

MAX_FILE = 450
MAX_FUNCTION = 60
SUFFIXES = {".cpp", ".hpp", ".h", ".cc"}
CONTAINER = re.compile(r"\b(namespace|class|struct|union|enum)\b[^()]*$|extern\s+\"C\"\s*$")
FUNCTION_END = re.compile(r"(\)|\bconst|\boverride|\bnoexcept|\bfinal|\bmutable|->\s*[\w:<>,\s*&]+)\s*$")


def blank(text):
    """The text with comments, string and character literals replaced by spaces (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i) if m else -1
            j = n if end < 0 else end + len(m.group(1)) + 2
        elif text[i] in "\"'":
            j, quote = i + 1, text[i]
            while j < n and text[j] != quote:
                j += 2 if text[j] == "\\" else 1
            j += 1
        else:
            out.append(text[i])
            i += 1
            continue
        out.append("".join(c if c == "\n" else " " for c in text[i:j]))
        i = j
    return "".join(out)


def functions(text):
    """(first line, last line, header) of every function body outside other functions."""
    code = blank(text)
    stack, found, header_start = [], [], 0
    for i, c in enumerate(code):
        if c == "{":
            header = code[header_start:i]
            inside_function = any(kind == "function" for kind, _ in stack)
            if inside_function:
                kind = "block"
            elif CONTAINER.search(" ".join(header.split())):
                kind = "container"
            elif FUNCTION_END.search(header.rstrip()) or re.search(r"\)\s*:\s*[\w:]+[({]", header):
                kind = "function"
            else:
                kind = "block"
            start = header_start + len(header) - len(header.lstrip())
            stack.append((kind, code.count("\n", 0, start) + 1))
            header_start = i + 1
        elif c == "}":
            if stack:
                kind, first = stack.pop()
                if kind == "function":
                    last = code.count("\n", 0, i) + 1
                    found.append((first, last, " ".join(code[:i].splitlines()[first - 1].split())))
            header_start = i + 1
        elif c == ";":
            header_start = i + 1
    return found


def main():
    root = pathlib.Path(sys.argv[1])
    folders = sys.argv[2:] or ["exec", "tools"]
    problems = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in SUFFIXES:
                continue
            text = path.read_text()
            rel = path.relative_to(root)
            lines = text.count("\n")
            if lines > MAX_FILE:
                problems.append(f"{rel}: {lines} lines (at most {MAX_FILE})")
            for first, last, header in functions(text):
                if last - first + 1 > MAX_FUNCTION:
                    problems.append(f"{rel}:{first}: function of {last - first + 1} lines (at most "
                                    f"{MAX_FUNCTION}): {header[:70]}")
    for p in problems:
        print(p)
    print(f"layout: {len(problems)} problem(s) in {', '.join(folders)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
