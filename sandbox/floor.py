"""`python -m sandbox.floor FILE [--gc-off]`: the plain floor as a program of its own, for
`make bench` to time as a whole process beside `python -m sandbox run FILE`.

It reads a Twelve Data multi-symbol file, `orjson.loads` it, and appends each bar's `orjson.dumps`
(with its newline) to one bytearray: the least any reading and writing of the file does. It
prints the lines and bytes it made. It imports nothing but orjson, so its start-up is the
interpreter's own.
"""

import gc
import sys

import orjson


def main(argv: list[str]) -> None:
    if "--gc-off" in argv:
        gc.disable()
    path = next(arg for arg in argv if not arg.startswith("--"))
    with open(path, "rb") as file:
        document = orjson.loads(file.read())
    out = bytearray()
    dumps, line = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    for response in document.values():
        for bar in response["values"]:
            out += dumps(bar, option=line)
    print(orjson.dumps({"lines": out.count(b"\n"), "bytes": len(out)}).decode())


if __name__ == "__main__":
    main(sys.argv[1:])
