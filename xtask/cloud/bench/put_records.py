"""PutRecords throughput as an outside client sees it: boto3, 500 records a call, against any endpoint.

Run it with the emulator's own Python (boto3 comes with moto), against `cargo xtask cloud up`'s endpoint (the Kinesis
front door) or against moto's own port (`.lab/cloud.json`) to compare:

    .lab/venv/bin/python xtask/cloud/bench/put_records.py http://127.0.0.1:PORT [--hot] [--mapping] [--seconds 10]

It makes a stream of its own (`--shards`, 2 by default), optionally registers an event source mapping on it (as the
lab's pipeline does: moto's own push to Lambda would slow every put down), and prints one JSON line: records sent,
accepted and refused with ProvisionedThroughputExceededException, and the rates. `--hot` puts every record under one
partition key ("geolocation", as the original lab did): one shard takes them all. The SDK's own retries are off, so
each refusal is counted once. The stream is deleted at the end.
"""

import argparse
import io
import itertools
import json
import random
import time
import uuid
import zipfile

import boto3
from botocore.config import Config


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint")
    parser.add_argument("--mapping", action="store_true", help="register an event source mapping on the stream")
    parser.add_argument("--hot", action="store_true", help="one partition key for every record")
    parser.add_argument("--batches", type=int, default=20, help="calls to make (unless --seconds)")
    parser.add_argument("--seconds", type=float, default=0, help="put for this long instead")
    parser.add_argument("--shards", type=int, default=2)
    return parser.parse_args()


def register_mapping(options, stream_arn, name):
    iam = boto3.client("iam", **options)
    lambda_ = boto3.client("lambda", **options)
    trust = {"Version": "2012-10-17", "Statement": []}
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    code = io.BytesIO()
    zipfile.ZipFile(code, "w").writestr("bootstrap", "")
    lambda_.create_function(
        FunctionName=name, Runtime="provided.al2023", Role=role, Handler="bootstrap", Code={"ZipFile": code.getvalue()}
    )
    lambda_.create_event_source_mapping(EventSourceArn=stream_arn, FunctionName=name, StartingPosition="LATEST")


def main():
    args = arguments()
    options = dict(
        endpoint_url=args.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )
    kinesis = boto3.client("kinesis", **options)
    name = f"bench-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=name, ShardCount=args.shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=name)
    stream_arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    if args.mapping:
        register_mapping(options, stream_arn, name)
    data = b"x" * 100
    sent = accepted = refused = 0
    start = time.monotonic()
    for call in itertools.count():
        elapsed = time.monotonic() - start
        if (args.seconds and elapsed >= args.seconds) or (not args.seconds and call >= args.batches):
            break
        keys = ("geolocation" if args.hot else str(random.random()) for _ in range(500))
        response = kinesis.put_records(StreamName=name, Records=[{"Data": data, "PartitionKey": k} for k in keys])
        sent += 500
        for entry in response["Records"]:
            if "ErrorCode" not in entry:
                accepted += 1
            elif entry["ErrorCode"] == "ProvisionedThroughputExceededException":
                refused += 1
    elapsed = time.monotonic() - start
    kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
    print(json.dumps({
        "sent": sent, "accepted": accepted, "throttled": refused, "seconds": round(elapsed, 2),
        "sent_per_s": round(sent / elapsed), "accepted_per_s": round(accepted / elapsed),
    }))


if __name__ == "__main__":
    main()
