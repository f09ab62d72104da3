"""Failing calls racing on one Modem each get a readable detail: the binding copies qssl_errmsg under the
handle's lock (qssl_errmsg_copy). Reading qssl_errmsg()'s pointer after the GIL came back read texts that
other threads' failures had freed meanwhile (the library keeps the last 8)."""

import threading

import pytest

import qssl

KNOWN = ("invalid certificate name", "bad certificate name", "invalid argument")


def test_concurrent_failures_give_readable_details(modem):
    bad = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            try:
                modem.check_cert("RAM:a\r")
            except qssl.QsslInvalidArgument as e:
                if not any(k in str(e) for k in KNOWN):
                    bad.append(str(e))

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    for _ in range(5000):
        with pytest.raises(qssl.QsslInvalidArgument) as ei:
            modem.check_cert("RAM:b\r")
        if not any(k in str(ei.value) for k in KNOWN):
            bad.append(str(ei.value))
        if len(bad) > 5:
            break
    stop.set()
    for t in threads:
        t.join()
    assert bad == [], bad[:5]
