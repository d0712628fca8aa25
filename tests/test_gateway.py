"""The FIX 4.4 gateway over loopback TCP, driven by an independent FIX implementation
(`simplefix` for framing): a session's life, order entry, two sessions trading, and a
table of malformed inputs with their answers. The whole conformance suite is
tests/test_fix_conformance.py; the client is tests/fix_client.py."""

from __future__ import annotations

import socket
from typing import Any, Optional

import lockfree_trading as lt
import pytest

pytest.importorskip("simplefix")

from fix_client import SYMBOL, Client, config, new_order, raw_message


@pytest.fixture
def system() -> Any:
    with lt.TradingSystem(config()) as s:
        yield s


def test_logon_order_fill_cancel_and_logout(system: Any) -> None:
    gw = system.start_gateway()
    alice, bob = Client(gw.address, "ALICE"), Client(gw.address, "BOB")
    assert alice.logon("a-pw").get(108) == b"30"
    bob.logon()
    alice.send("D", new_order("A-1", 1, "1", "100.00"))
    ack = alice.recv_type(b"8")
    assert (ack.get(150), ack.get(39), ack.get(11), ack.get(151)) == (b"0", b"0", b"A-1", b"1")
    bob.send("D", new_order("B-1", 2, "0.25", "100.00"))
    assert bob.recv_type(b"8").get(150) == b"0"
    fill = bob.recv_type(b"8")
    assert (fill.get(150), fill.get(39), fill.get(31), fill.get(32)) == (b"F", b"2", b"100", b"0.25")
    unsolicited = alice.recv_type(b"8")
    assert (unsolicited.get(150), unsolicited.get(39), unsolicited.get(14), unsolicited.get(151)) == (
        b"F",
        b"1",
        b"0.25",
        b"0.75",
    )
    # Book and trades equal the same commands through Python: one resting 0.75 bid.
    depth = system.book(SYMBOL).depth(1)
    assert (str(depth.bids[0].price), str(depth.bids[0].quantity)) == ("100.00", "0.750")
    # Bob cannot cancel Alice's order.
    bob.send("F", [(11, "B-2"), (41, "A-1"), (55, SYMBOL), (54, 1), (60, "20261202-10:00:00")])
    assert bob.recv_type(b"9").get(102) == b"1"
    alice.send("F", [(11, "A-2"), (41, "A-1"), (55, SYMBOL), (54, 1), (60, "20261202-10:00:00")])
    cancel = alice.recv_type(b"8")
    assert (cancel.get(150), cancel.get(39), cancel.get(41)) == (b"4", b"4", b"A-1")
    alice.send("5", [])
    assert alice.recv_type(b"5") is not None
    assert alice.closed()
    counters = gw.counters()
    assert counters["logons"] == 2 and counters["messages_in"] >= 7
    by_session = {s["sender_comp_id"]: s for s in counters["sessions"]}
    assert by_session["ALICE"]["logons"] == 1 and not by_session["ALICE"]["logged_on"]
    assert by_session["ALICE"]["execution_reports"] >= 2
    assert by_session["BOB"]["messages_in"] >= 2


def test_session_rules_test_request_resend_and_sequence_gap(system: Any) -> None:
    gw = system.start_gateway()
    c = Client(gw.address, "BOB")
    c.logon()
    c.send("1", [(112, "PING")])
    assert c.recv_type(b"0").get(112) == b"PING"
    c.send("2", [(7, 1), (16, 0)])
    gap = c.recv_type(b"4")
    assert (gap.get(123), gap.get(36)) == (b"Y", b"3")  # our Logon and Heartbeat were 1 and 2
    c.send("0", [], seq=10)  # a gap: 4 to 9 missing
    resend = c.recv_type(b"2")
    assert (resend.get(7), resend.get(16)) == (b"4", b"0")


# (what is sent after Logon, what the gateway answers: a MsgType, or None for a disconnect)
MALFORMED: list[tuple[str, bytes, Optional[bytes]]] = [
    ("unsupported message type", b"35=E|", b"j"),
    ("missing ClOrdID", b"35=D|55=BTC-USD|54=1|60=20261202-10:00:00|38=1|40=2|44=1|", b"3"),
    ("missing Symbol", b"35=D|11=x1|54=1|60=20261202-10:00:00|38=1|40=2|44=1|", b"3"),
    ("missing Side", b"35=D|11=x2|55=BTC-USD|60=20261202-10:00:00|38=1|40=2|44=1|", b"3"),
    ("missing OrderQty", b"35=D|11=x3|55=BTC-USD|54=1|60=20261202-10:00:00|40=2|44=1|", b"3"),
    ("missing Price on a limit", b"35=D|11=x4|55=BTC-USD|54=1|60=20261202-10:00:00|38=1|40=2|", b"3"),
    ("Side out of range", b"35=D|11=x5|55=BTC-USD|54=7|60=20261202-10:00:00|38=1|40=2|44=1|", b"3"),
    ("OrdType out of range", b"35=D|11=x6|55=BTC-USD|54=1|60=20261202-10:00:00|38=1|40=9|44=1|", b"3"),
    ("quantity not a number", b"35=D|11=x7|55=BTC-USD|54=1|60=20261202-10:00:00|38=abc|40=2|44=1|", b"3"),
    ("price with an exponent", b"35=D|11=x8|55=BTC-USD|54=1|60=20261202-10:00:00|38=1|40=2|44=1e2|", b"3"),
    ("empty value", b"35=D|11=|55=BTC-USD|54=1|60=20261202-10:00:00|38=1|40=2|44=1|", b"3"),
    ("tag not a number", b"35=D|1x=5|", b"3"),
    ("price off the tick", b"35=D|11=x9|55=BTC-USD|54=1|60=20261202-10:00:00|38=1|40=2|44=1.001|", b"8"),
    ("quantity off the lot", b"35=D|11=xa|55=BTC-USD|54=1|60=20261202-10:00:00|38=0.0001|40=2|44=1|", b"8"),
    ("unknown symbol", b"35=D|11=xb|55=DOGE|54=1|60=20261202-10:00:00|38=1|40=2|44=1|", b"8"),
    ("negative price", b"35=D|11=xc|55=BTC-USD|54=1|60=20261202-10:00:00|38=1|40=2|44=-1|", b"8"),
    ("cancel of an unknown order", b"35=F|11=xd|41=nope|55=BTC-USD|54=1|60=20261202-10:00:00|", b"9"),
    ("second Logon", b"35=A|98=0|108=30|", b"3"),
]


@pytest.mark.parametrize(("what", "body", "answer"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_application_input_gets_the_prescribed_answer(
    system: Any, what: str, body: bytes, answer: Optional[bytes]
) -> None:
    gw = system.start_gateway()
    c = Client(gw.address, "BOB")
    c.logon()
    c.sock.sendall(raw_message(body, c.seq))
    c.seq += 1
    reply = c.recv()
    assert reply is not None and reply.get(35) == answer, (what, reply)
    # The session goes on: a TestRequest still gets its Heartbeat.
    c.send("1", [(112, "after")])
    assert c.recv_type(b"0").get(112) == b"after"


FRAMING: list[tuple[str, bytes]] = [
    ("HTTP instead of FIX", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("FIX 4.2", b"8=FIX.4.2\x019=5\x0135=0\x0110=000\x01"),
    ("BodyLength not a number", b"8=FIX.4.4\x019=abc\x0135=0\x01"),
    ("a 10 MB message", b"8=FIX.4.4\x019=10485760\x0135=D\x01" + b"x" * 4096),
    ("garbage bytes", bytes(range(256)) * 4),
]


@pytest.mark.parametrize(("what", "data"), FRAMING, ids=[f[0] for f in FRAMING])
def test_broken_framing_is_a_disconnect_and_other_sessions_go_on(system: Any, what: str, data: bytes) -> None:
    gw = system.start_gateway()
    good = Client(gw.address, "ALICE")
    good.logon("a-pw")
    host, port = gw.address.rsplit(":", 1)
    bad = socket.create_connection((host, int(port)), timeout=3)
    bad.sendall(data)
    bad.settimeout(3)
    try:
        assert bad.recv(65536) == b"", what
    except ConnectionResetError:
        pass
    good.send("1", [(112, "still-here")])
    assert good.recv_type(b"0").get(112) == b"still-here"


def test_wrong_password_unknown_compid_and_silence_are_refused(system: Any) -> None:
    gw = system.start_gateway()
    wrong = Client(gw.address, "ALICE")
    wrong.send("A", [(98, 0), (108, 30), (554, "nope")])
    assert wrong.closed()
    stranger = Client(gw.address, "MALLORY")
    stranger.send("A", [(98, 0), (108, 30)])
    assert stranger.closed()
    silent = Client(gw.address, "BOB")
    assert silent.closed(), "no Logon within logon_timeout_seconds"
    assert gw.counters()["dropped"] >= 3


def test_a_bad_checksum_is_ignored_and_its_number_not_counted(system: Any) -> None:
    gw = system.start_gateway()
    c = Client(gw.address, "BOB")
    c.logon()
    msg = bytearray(raw_message(b"1|112=lost|", c.seq))
    msg[-2] = ord("0") if msg[-2] != ord("0") else ord("1")
    c.sock.sendall(bytes(msg))
    c.send("1", [(112, "kept")])  # the same sequence number again: the garbled one did not count
    assert c.recv_type(b"0").get(112) == b"kept"
    assert gw.counters()["garbled"] == 1


def test_gateway_settings_are_checked() -> None:
    with pytest.raises(lt.InvalidConfig, match="an enabled gateway needs at least one session"):
        lt.Config.from_dict({"symbols": [{"name": "X"}], "gateway": {"enabled": True}})
    with pytest.raises(lt.InvalidConfig, match="heartbeat_range"):
        lt.Config.from_dict(
            {
                "symbols": [{"name": "X"}],
                "gateway": {"sessions": [{"sender_comp_id": "A", "heartbeat_range": [5, 1]}]},
            }
        )
    with (
        lt.TradingSystem(config(listen="not-an-address")) as s,
        pytest.raises(lt.InvalidConfig, match=r"gateway\.listen"),
    ):
        s.start_gateway()


def test_sequence_numbers_are_kept_in_the_journal_directory_across_restarts(tmp_path: Any) -> None:
    cfg = config()
    cfg["journal"] = {"enabled": True, "directory": str(tmp_path / "journal")}
    with lt.TradingSystem(cfg) as s:
        c = Client(s.start_gateway().address, "BOB")
        c.logon()
        c.send("1", [(112, "x")])
        c.recv_type(b"0")
    assert (tmp_path / "journal" / "fix-sessions" / "BOB-LFT.seq").exists()
    with lt.TradingSystem(cfg) as s:
        c = Client(s.start_gateway().address, "BOB")
        c.seq = 3
        assert c.logon().get(34) == b"4", "Logon, Heartbeat and the shutdown Logout were 1 to 3"


def test_a_market_data_snapshot_shows_the_same_levels_as_the_python_book(system: Any) -> None:
    gw = system.start_gateway()
    system.submit(SYMBOL, "buy", "0.5", "99.50", time_in_force="GTC")
    system.submit(SYMBOL, "sell", "0.25", "100.25", time_in_force="GTC")
    c = Client(gw.address, "BOB")
    c.logon()
    c.send("V", [(262, "m1"), (263, 0), (264, 5), (267, 2), (269, 0), (269, 1), (146, 1), (55, SYMBOL)])
    snap = c.recv_type(b"W")
    assert (snap.get(262), snap.get(55), snap.get(268)) == (b"m1", SYMBOL.encode(), b"2")
    prices = [snap.get(270, n) for n in (1, 2)]
    sizes = [snap.get(271, n) for n in (1, 2)]
    depth = system.book(SYMBOL).depth(5)
    assert prices == [
        str(depth.bids[0].price.normalize()).encode(),
        str(depth.asks[0].price.normalize()).encode(),
    ]
    assert sizes == [b"0.5", b"0.25"]


def _entries(m: Any, first: int) -> list[dict[int, bytes]]:
    """The repeating group of a W (first=269) or X (first=279) as one dict per entry."""
    rows: list[dict[int, bytes]] = []
    for tag, value in m.pairs:
        tag = int(tag)
        if tag == first:
            rows.append({})
        if rows and tag in (279, 269, 55, 270, 271, 346, 290):
            rows[-1][tag] = value
    return rows


def test_a_subscription_streams_the_changes_that_python_orders_make(system: Any) -> None:
    gw = system.start_gateway()
    system.submit(SYMBOL, "buy", "0.5", "99.50", time_in_force="GTC")
    c = Client(gw.address, "BOB")
    c.logon()
    c.send("V", [(262, "live"), (263, 1), (264, 0), (265, 1), (146, 1), (55, SYMBOL)])
    snap = c.recv_type(b"W")
    assert _entries(snap, 269) == [{269: b"0", 270: b"99.5", 271: b"0.5", 346: b"1", 290: b"1"}]
    system.submit(SYMBOL, "sell", "0.25", "100.25", time_in_force="GTC")
    new_ask = c.recv_type(b"X")
    assert new_ask.get(262) == b"live"
    assert _entries(new_ask, 279) == [
        {279: b"0", 269: b"1", 55: SYMBOL.encode(), 270: b"100.25", 271: b"0.25", 346: b"1"}
    ]
    system.submit(SYMBOL, "sell", "0.5", "99.50", time_in_force="IOC")
    trade = _entries(c.recv_type(b"X"), 279)
    assert trade == [
        {279: b"2", 269: b"0", 55: SYMBOL.encode(), 270: b"99.5"},
        {279: b"0", 269: b"2", 55: SYMBOL.encode(), 270: b"99.5", 271: b"0.5"},
    ]
    # Unsubscribed: the next change sends nothing; a Heartbeat answers the TestRequest first.
    c.send("V", [(262, "live"), (263, 2), (146, 1), (55, SYMBOL)])
    system.submit(SYMBOL, "buy", "0.1", "90", time_in_force="GTC")
    c.send("1", [(112, "after")])
    answer = c.recv()
    assert answer is not None and (answer.get(35), answer.get(112)) == (b"0", b"after")


def test_a_resting_fix_order_hears_of_a_python_fill(system: Any) -> None:
    gw = system.start_gateway()
    c = Client(gw.address, "BOB")
    c.logon()
    order = [
        (11, "r1"),
        (55, SYMBOL),
        (54, 2),
        (60, "20261202-10:00:00"),
        (38, "1"),
        (40, 2),
        (44, "101"),
        (59, 1),
    ]
    c.send("D", order)
    assert c.recv_type(b"8").get(150) == b"0"
    system.submit(SYMBOL, "buy", "0.4", "101", time_in_force="IOC")
    fill = c.recv_type(b"8")
    assert (fill.get(150), fill.get(39), fill.get(14), fill.get(151), fill.get(32)) == (
        b"F",
        b"1",
        b"0.4",
        b"0.6",
        b"0.4",
    )
