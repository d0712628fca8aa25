"""Child process of the crash drill: runs a durable TradingSystem under load from several
submitter threads and appends every acknowledged command to a per-thread log, until the
parent kills it with SIGKILL.

Usage: python crash_child.py CONFIG_JSON ACK_DIR NONCE
"""

from __future__ import annotations

import json
import random
import sys
import threading
from pathlib import Path

from lockfree_trading import Side, TimeInForce, TradingError, TradingSystem

SYMBOLS = ["AAA", "BBB", "CCC"]


def submitter(system: TradingSystem, k: int, ack_dir: Path, nonce: int) -> None:
    rng = random.Random(nonce * 100 + k)
    mine: list[int] = []
    counter = 0
    with open(ack_dir / f"acks-{nonce}-{k}.log", "a", buffering=1) as log:
        while True:
            symbol = rng.choice(SYMBOLS)
            pick = rng.random()
            try:
                if pick < 0.6 or not mine:
                    counter += 1
                    oid = (nonce << 40) | (k << 32) | counter
                    kind = rng.random()
                    kwargs: dict[str, object] = {"order_id": oid}
                    if kind < 0.1:
                        kwargs["time_in_force"] = TimeInForce.IOC
                    elif kind < 0.2:
                        kwargs["post_only"] = True
                    elif kind < 0.3:
                        kwargs["display_quantity"] = 1
                    side = Side.BUY if rng.random() < 0.5 else Side.SELL
                    price = f"{rng.randint(95, 105)}.00"
                    r = system.submit(symbol, side, rng.randint(1, 5), price, **kwargs)
                    mine.append(oid)
                    line = f"{symbol} {r.command_sequence} new {oid}"
                elif pick < 0.8:
                    oid = rng.choice(mine)
                    r = system.cancel(symbol, oid)
                    line = f"{symbol} {r.command_sequence} cancel {oid}"
                else:
                    oid = rng.choice(mine)
                    r = system.modify(symbol, oid, quantity=rng.randint(1, 5))
                    line = f"{symbol} {r.command_sequence} modify {oid}"
            except TradingError as e:
                seq = getattr(e, "command_sequence", 0)
                if not seq:
                    continue
                line = f"{symbol} {seq} refused 0"
            log.write(line + "\n")


def main() -> None:
    config = json.loads(sys.argv[1])
    ack_dir = Path(sys.argv[2])
    nonce = int(sys.argv[3])
    system = TradingSystem(config)
    for k in range(3):
        threading.Thread(target=submitter, args=(system, k, ack_dir, nonce), daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
