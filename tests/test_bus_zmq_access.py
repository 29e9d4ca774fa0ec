"""The pyzmq internals the publishers use (cti.bus.zmq_access), pinned to the versions they are
tested on: a pyzmq outside SUPPORTED fails here first, before anything subtler breaks."""
from __future__ import annotations

import zmq

from cti.bus import zmq_access


def test_the_installed_pyzmq_is_one_the_internals_are_tested_on():
    assert zmq_access.supported(), (
        f"pyzmq {zmq.pyzmq_version()} is outside {zmq_access.SUPPORTED}: check cti/bus/zmq_access.py's "
        "internals against it, then widen SUPPORTED")


def test_raw_send_and_libzmq_send_reach_a_subscriber():
    ctx = zmq.Context()
    try:
        pub, sub = ctx.socket(zmq.PUB), ctx.socket(zmq.SUB)
        pub.bind("inproc://access")
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect("inproc://access")
        send = zmq_access.raw_send(pub)
        assert send is not pub.send                     # the backend's send, one layer down
        for _ in range(100):                            # slow joiner
            send(b"t", zmq.SNDMORE)
            send(b"x")
            if sub.poll(10):
                break
        assert sub.recv_multipart() == [b"t", b"x"]
        assert zmq_access.libzmq_send_address() != 0    # the compiled publisher's direct path
    finally:
        ctx.destroy(linger=0)


def test_raw_send_of_a_socket_pyzmq_does_not_back_is_its_own_send():
    class Other:
        def send(self, data: bytes, flags: int = 0) -> None:
            pass
    o = Other()
    assert zmq_access.raw_send(o) == o.send
