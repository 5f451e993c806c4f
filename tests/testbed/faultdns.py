#!/usr/bin/env python3
"""faultdns: a DNS proxy for tests that misbehaves on purpose.

faultdns.py --listen ADDR:PORT --upstream ADDR:PORT
            [--rule SUFFIX[/TYPE]=ACTION ...] [--default ACTION]
            [--pidfile FILE]

Each query (UDP or TCP) is matched by its question name (case-insensitive,
label-aligned suffix) and optionally its type against the rules in order;
the first match decides, else --default (forward). Actions:
  forward    relay to the upstream over the same transport
  servfail, refused, formerr
             answer with that rcode (id and question copied)
  drop       never answer
  garbage    answer with random bytes
  truncate   over UDP answer TC=1 with no records (the client retries
             over TCP, where the query is forwarded)
  slow:MS    forward after MS milliseconds (other queries are not held)
Only the loopback addresses it is given are used.
"""

import argparse
import asyncio
import os
import random
import signal
import socket
import struct
import sys

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16,
         "AAAA": 28, "DS": 43, "RRSIG": 46, "NSEC": 47, "DNSKEY": 48,
         "NSEC3": 50, "TLSA": 52}
RCODES = {"formerr": 1, "servfail": 2, "refused": 5}


def parse_question(msg):
    """Return (qname lower-case without final dot, qtype, end offset)."""
    if len(msg) < 12:
        return None
    pos, labels = 12, []
    while True:
        if pos >= len(msg):
            return None
        n = msg[pos]
        if n == 0:
            pos += 1
            break
        if n & 0xC0 or pos + 1 + n > len(msg):
            return None
        labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    if pos + 4 > len(msg):
        return None
    qtype = struct.unpack("!H", msg[pos:pos + 2])[0]
    return ".".join(labels).lower(), qtype, pos + 4


def error_reply(query, rcode, end):
    qid = query[:2]
    flags = struct.unpack("!H", query[2:4])[0]
    flags = 0x8000 | (flags & 0x7900) | 0x0080 | rcode  # QR, opcode, RD, RA
    return qid + struct.pack("!HHHHH", flags, 1, 0, 0, 0) + query[12:end]


def truncated_reply(query, end):
    flags = struct.unpack("!H", query[2:4])[0]
    flags = 0x8000 | (flags & 0x7900) | 0x0200 | 0x0080  # QR, TC, RA
    return query[:2] + struct.pack("!HHHHH", flags, 1, 0, 0, 0) + query[12:end]


class Rules:
    def __init__(self, rules, default):
        self.rules = []
        for r in rules:
            match, action = r.split("=", 1)
            name, _, qtype = match.partition("/")
            self.rules.append((name.lower().strip("."),
                               TYPES.get(qtype.upper()) if qtype else None,
                               action))
        self.default = default
        self.log = False

    def action(self, qname, qtype):
        for name, rtype, action in self.rules:
            if (qname == name or qname.endswith("." + name) or name == "") \
                    and (rtype is None or rtype == qtype):
                return action
        return self.default


class UpstreamUDP(asyncio.DatagramProtocol):
    """One socket to the upstream for every forwarded UDP query: query IDs
    are rewritten so replies find their way back. A socket per query is
    far too slow for getdns, which sends a burst of DS and DNSKEY queries
    with every lookup."""

    def __init__(self):
        self.pending = {}
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        big_buffers(transport)

    def datagram_received(self, data, addr):
        if len(data) < 2:
            return
        entry = self.pending.pop(struct.unpack("!H", data[:2])[0], None)
        if entry is not None and not entry[1].done():
            entry[1].set_result(entry[0] + data[2:])

    async def ask(self, query, timeout=5.0):
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        qid = random.getrandbits(16)
        while qid in self.pending:
            qid = random.getrandbits(16)
        self.pending[qid] = (query[:2], fut)
        self.transport.sendto(struct.pack("!H", qid) + query[2:])
        try:
            return await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            self.pending.pop(qid, None)
            return None


UPSTREAM = None


async def forward_udp(upstream, query, timeout=5.0):
    global UPSTREAM
    if UPSTREAM is None:
        loop = asyncio.get_running_loop()
        _, UPSTREAM = await loop.create_datagram_endpoint(
            UpstreamUDP, remote_addr=upstream)
    return await UPSTREAM.ask(query, timeout)


async def forward_tcp(upstream, query, timeout=5.0):
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(*upstream), timeout)
        writer.write(struct.pack("!H", len(query)) + query)
        await writer.drain()
        n = struct.unpack("!H", await asyncio.wait_for(
            reader.readexactly(2), timeout))[0]
        data = await asyncio.wait_for(reader.readexactly(n), timeout)
        writer.close()
        return data
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
        return None


async def answer(rules, upstream, query, tcp):
    """The reply bytes for one query, or None for no reply."""
    q = parse_question(query)
    if q is None:
        return None
    qname, qtype, end = q
    action = rules.action(qname, qtype)
    if rules.log:
        print("%s %s %d %s" % ("tcp" if tcp else "udp", qname, qtype, action),
              file=sys.stderr, flush=True)
    if action in RCODES:
        return error_reply(query, RCODES[action], end)
    if action == "drop":
        return None
    if action == "garbage":
        return bytes(random.getrandbits(8) for _ in range(random.randint(1, 64)))
    if action == "truncate" and not tcp:
        return truncated_reply(query, end)
    if action.startswith("slow:"):
        await asyncio.sleep(int(action[5:]) / 1000.0)
    return await (forward_tcp if tcp else forward_udp)(upstream, query)


class UDPServer(asyncio.DatagramProtocol):
    def __init__(self, rules, upstream):
        self.rules, self.upstream = rules, upstream
        # asyncio keeps only weak references to tasks: hold them, or a
        # query in flight can be collected and silently never answered
        self.tasks = set()

    def connection_made(self, transport):
        self.transport = transport
        big_buffers(transport)

    def datagram_received(self, data, addr):
        task = asyncio.ensure_future(self.handle(data, addr))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def handle(self, data, addr):
        reply = await answer(self.rules, self.upstream, data, tcp=False)
        if reply is not None:
            self.transport.sendto(reply, addr)


async def tcp_client(rules, upstream, reader, writer):
    """Queries pipelined on one connection are answered as each is ready,
    out of order (RFC 7766 6.2.1.1, as unbound does): a slow one does not
    hold up the others."""
    tasks = set()

    async def one(query):
        reply = await answer(rules, upstream, query, tcp=True)
        if reply is None or writer.is_closing():
            return
        writer.write(struct.pack("!H", len(reply)) + reply)
        try:
            await writer.drain()
        except OSError:
            pass

    try:
        while True:
            n = struct.unpack("!H", await reader.readexactly(2))[0]
            query = await reader.readexactly(n)
            task = asyncio.ensure_future(one(query))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    except (asyncio.IncompleteReadError, OSError):
        pass
    finally:
        for task in list(tasks):
            task.cancel()
        writer.close()


def big_buffers(transport):
    """getdns sends hundreds of datagrams in a few milliseconds (every
    lookup fetches its DS/DNSKEY chain again): with the default receive
    buffer the kernel drops them before Python reads them."""
    sock = transport.get_extra_info("socket")
    for opt in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
        if opt is None:
            continue
        try:
            sock.setsockopt(socket.SOL_SOCKET, opt, 8 << 20)
            return
        except OSError:
            continue


def hostport(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", required=True, type=hostport)
    ap.add_argument("--upstream", required=True, type=hostport)
    ap.add_argument("--rule", action="append", default=[])
    ap.add_argument("--default", default="forward")
    ap.add_argument("--pidfile")
    ap.add_argument("--log", action="store_true",
                    help="one line per query on stderr")
    args = ap.parse_args()
    rules = Rules(args.rule, args.default)
    rules.log = args.log
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(
        lambda: UDPServer(rules, args.upstream), local_addr=args.listen)
    server = await asyncio.start_server(
        lambda r, w: tcp_client(rules, args.upstream, r, w), *args.listen)
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(0))
    if args.pidfile:
        with open(args.pidfile + ".new", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(args.pidfile + ".new", args.pidfile)
    await stop
    server.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
