"""The original lab's consumer, in Python, for `vs_python.rs`: the same work on the same event, timed in one run.

Our own equivalent of its handler (not a copy): base64-decode each record's data, `json.loads` it, collect the
records, then print `json.dumps` of the count and the records. The Python Lambda runtime has already `json.loads`-ed
the event before it calls the handler, so each round times that too: from the event's bytes to the logged line, as
the Rust side is timed from the bytes to its log line.

Protocol: `python original_consumer.py EVENT_FILE`; for each line read on stdin, one round, and its time in seconds
written as one line on stdout. The logged line goes to /dev/null (the Rust side writes its own to a sink).
"""

import base64
import json
import os
import sys
import time


def handler(event, out):
    records = []
    for record in event["Records"]:
        data = base64.b64decode(record["kinesis"]["data"]).decode()
        records.append(json.loads(data))
    print(json.dumps({"count": str(len(records)), "data": records}), file=out)


def main():
    with open(sys.argv[1], "rb") as file:
        body = file.read()
    with open(os.devnull, "w") as out:
        for _ in sys.stdin:
            started = time.perf_counter()
            handler(json.loads(body), out)
            print(time.perf_counter() - started, flush=True)


if __name__ == "__main__":
    main()
