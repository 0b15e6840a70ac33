"""The local cloud's AWS APIs: moto's server, with moto's own Kinesis -> Lambda push turned off, and event source
mappings that say their StartingPositionTimestamp.

Run it exactly as `python -m moto.server` (same arguments, same server):

    python xtask/cloud/moto_server.py -H 127.0.0.1 -p PORT

Why: in moto 5.2.5, `Stream.put_record` (moto/kinesis/models.py) calls the Lambda backend's
`send_kinesis_message` for every record and every event source mapping on the stream. That call tries to run
the function in Docker, which is not there; the failure is swallowed, but it costs milliseconds per record:
PutRecords falls from about 10,000 to about 570 records/s as soon as a mapping names the stream, even with
`{"lambda": {"use_docker": false}}`. The project's own data plane (lab-cloud's event source mappings) polls the
stream and delivers records to Lambda as AWS does, so moto's push is both slow and redundant.

Second: moto 5.2.5 keeps a mapping's `StartingPositionTimestamp` (EventSourceMapping.__init__) but leaves it out of
every answer (`get_configuration`), so lab-cloud's pollers could not honour `StartingPosition: AT_TIMESTAMP` as
Lambda does; the patch adds it to the configuration moto returns, as AWS's GetEventSourceMapping does.

The patches replace only those methods, and only on the moto version they were written against: `cloud.rs` pins
moto, and a different version stops here rather than running with a patch nobody has checked.
"""

import sys

PATCHED_MOTO_VERSION = "5.2.5"


def disable_kinesis_push_to_lambda() -> None:
    import moto
    from moto.awslambda.models import LambdaBackend

    if moto.__version__ != PATCHED_MOTO_VERSION:
        sys.exit(
            f"moto_server.py: written for moto {PATCHED_MOTO_VERSION}, found {moto.__version__}; "
            "check that moto/kinesis/models.py still pushes records through "
            "LambdaBackend.send_kinesis_message, then update PATCHED_MOTO_VERSION"
        )
    if not callable(getattr(LambdaBackend, "send_kinesis_message", None)):
        sys.exit("moto_server.py: moto has no LambdaBackend.send_kinesis_message to disable")

    def send_kinesis_message(self, *args, **kwargs) -> None:
        """Delivers nothing: lab-cloud's event source mappings poll the stream and invoke the function."""

    # Defined on LambdaBackend and inherited by the Docker-free LambdaSimpleBackend that `use_docker: false`
    # selects, so replacing it here covers both. Its only caller is Kinesis's Stream.put_record.
    LambdaBackend.send_kinesis_message = send_kinesis_message


def return_starting_position_timestamp() -> None:
    from moto.awslambda.models import EventSourceMapping

    original = EventSourceMapping.get_configuration

    def get_configuration(self):
        configuration = original(self)
        timestamp = getattr(self, "starting_position_timestamp", None)
        if timestamp is not None:
            configuration["StartingPositionTimestamp"] = timestamp
        return configuration

    EventSourceMapping.get_configuration = get_configuration


if __name__ == "__main__":
    disable_kinesis_push_to_lambda()
    return_starting_position_timestamp()
    from moto.server import main

    main(sys.argv[1:])
