#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Fuzz of the devmem generic netlink family: every malformed request
gets an answer, an errno and an extack; nothing is left bound, leaked or
WARNed about.

Requests are built by hand (struct.pack) and sent over a raw
NETLINK_GENERIC socket with NETLINK_EXT_ACK and NETLINK_CAP_ACK; the
family id comes from CTRL_CMD_GETFAMILY. A seeded PRNG (the seed is
printed; DEVMEM_FUZZ_SEED replays a run, DEVMEM_FUZZ_N sets how many
requests) makes, per op of Documentation/netlink/specs/devmem.yaml:
missing required attributes, attributes of wrong lengths, unknown
attribute types (0, maxattr + 1, 0x7fff, NLA_F_NESTED on a non-nest),
nests with garbage, truncated nlattrs and nla_len beyond the message,
queue nests with a wrong inner type, 1000 queues, values out of the
spec's checks, dump flags on do-only ops, reserved / version garbage,
bogus nlmsg_flags; bind-rx with fds that are no dma-buf (a pipe,
/dev/null, a closed fd, -1, 0xffffffff), a real udmabuf with queues out
of range or listed twice, ifindex of lo / none / 0, flow nests out of
the flow set's checks (family, proto, address lengths, ports, missing
attributes, location, two queues, garbage); unbind and
binding-get of ids 0, 1, 2^32-1. Besides: unknown commands (0, the
notification commands, 9..255) and raw framing (truncated genlmsghdr,
nlmsg_len against the datagram, several messages in one datagram).

Each request must be answered with NLMSG_ERROR carrying a negative errno
(the expected one where the policy or the handler fixes it) and an
extack with a message or a bad-attribute offset (or a missing-attribute
type). Expected is strict genetlink: what genl_header_check() and strict
policy validation do for ops at or past the family's resv_start_op
(reserved != 0 and nlmsg_flags other than REQUEST, ACK, ECHO, DUMP
refused with EINVAL), and the spec's requests (caps-get and the
binding-get dump take no attribute: any is refused). The version field
is no error: genetlink ignores it. Requests that netlink itself never parses (nlmsg_len beyond the
datagram or below NLMSG_HDRLEN, no NLM_F_REQUEST) must get no answer
(or a plain ack), and the socket must keep working. One KTAP case per
op, plus unknown_cmds and raw_framing; a case fails listing the
requests that got no answer, were accepted, got another errno or no
extack. Then: no binding left (binding-get dump, netdev queue-get and
page-pool-get), no WARN/BUG in the kernel log since the start, no new
kmemleak report.

With the C core (caps-get implementation c) bind-rx, unbind and
binding-get answer EOPNOTSUPP past the policy: expected, with an extack.

Needs KSRC; the real dma-buf cases need /dev/udmabuf and an emulated
port (with ethtool >= 6.7 from DEVMEM_CACHE for header split).
"""

import errno
import os
import random
import re
import select
import socket
import struct
import subprocess
import time

from devmem_rs import (YnlFamily, ethtool, ksft_exit, ksft_run, ksft_true, port_netdev, spec,
                       udmabuf)

# Netlink.
NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_ECHO = 0x1, 0x2, 0x4, 0x8
NLM_F_ROOT, NLM_F_MATCH, NLM_F_ATOMIC = 0x100, 0x200, 0x400
NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200
NLA_F_NESTED, NLA_F_NET_BYTEORDER = 0x8000, 0x4000
NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS, NLMSGERR_ATTR_MISS_TYPE = 1, 2, 5
GENL_ID_CTRL, CTRL_CMD_GETFAMILY = 0x10, 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_VERSION = 1, 2, 3

# The devmem family (include/uapi/linux/devmem_rs.h).
CAPS_GET, BINDING_GET, ALLOC_BENCH, TOKEN_BENCH, BIND_RX, UNBIND = 1, 2, 3, 4, 5, 6
BIND_NTF, UNBIND_NTF = 7, 8
CAPS_IMPLEMENTATION = 9
B_ID, B_IFINDEX, B_FD, B_QUEUES, B_FLOW, B_MAX = 1, 2, 9, 10, 13, 13
# flow set (bind-rx's flow nest); location (7) is reply-only.
F_FAMILY, F_PROTO, F_DST_ADDR, F_DST_PORT, F_SRC_ADDR, F_SRC_PORT, F_LOCATION = range(1, 8)
Q_ID = 1
BENCH_MAX = 8          # bench set: niovs, batch, msecs, ...
TBENCH_MAX = 10        # token-bench set: held, frags, msecs, ...
IMPL_C, IMPL_RUST = 1, 2
# The largest attribute type of each op's attribute set (the policy's
# maxattr may be smaller).
SET_MAX = {CAPS_GET: CAPS_IMPLEMENTATION, BINDING_GET: B_MAX, ALLOC_BENCH: BENCH_MAX,
           TOKEN_BENCH: TBENCH_MAX, BIND_RX: B_MAX, UNBIND: B_MAX}
OP_NAMES = {CAPS_GET: "caps-get", BINDING_GET: "binding-get", ALLOC_BENCH: "alloc-bench",
            TOKEN_BENCH: "token-bench", BIND_RX: "bind-rx", UNBIND: "unbind"}

ENOENT, EBADF, EEXIST, ENODEV, EINVAL = 2, 9, 17, 19, 22
ERANGE, ENODATA, EOPNOTSUPP = 34, 61, 95

TIMEOUT = float(os.environ.get("DEVMEM_FUZZ_TIMEOUT", "10"))   # s, per answer
WRONG_LENS = (0, 1, 2, 3, 5, 6, 7, 8, 9, 11, 12, 16, 64)
BIG = 1000             # "huge" multi-attr counts
REPORT = 4             # examples printed per kind of offence

# What the kernel log must not gain (scripts/env.sh's guest_reports).
REPORTS = re.compile(r"WARNING:|BUG:|Oops|Kernel panic|general protection fault|kernel BUG|"
                     r"possible circular locking|possible recursive locking|"
                     r"inconsistent lock state|suspicious RCU usage|DEBUG_LOCKS_WARN_ON|"
                     r"unreferenced object|UBSAN|KASAN|list_add corruption|"
                     r"list_del corruption|refcount_t:|soft lockup|hung_task|"
                     r"blocked for more than|Call Trace:|double free")


def ksft_pr(*objs):
    """Prints a KTAP diagnostic line."""
    print("#", *objs)


def nla(atype, payload=b"", length=None):
    """An attribute of type ATYPE (flags included) with PAYLOAD, padded;
    LENGTH overrides its nla_len."""
    hdr = struct.pack("=HH", 4 + len(payload) if length is None else length, atype)
    return hdr + payload + b"\0" * (-len(payload) % 4)


def u32(atype, val):
    """A u32 attribute (VAL taken modulo 2^32)."""
    return nla(atype, struct.pack("=I", val & 0xffffffff))


def nest(atype, inner, flags=NLA_F_NESTED):
    """A nest of INNER, flagged FLAGS."""
    return nla(atype | flags, inner)


def nlmsg(mtype, flags, body, length=None):
    """A netlink message (seq 0: send() sets it); LENGTH overrides
    nlmsg_len."""
    return struct.pack("=IHHII", 16 + len(body) if length is None else length, mtype, flags,
                       0, 0) + body


def genl(cmd, version=1, reserved=0):
    """A genlmsghdr."""
    return struct.pack("=BBH", cmd, version, reserved)


def attrs_of(data):
    """Top-level attributes of DATA: {type: [payload, ...]}."""
    out = {}
    off = 0
    while off + 4 <= len(data):
        alen, atype = struct.unpack_from("=HH", data, off)
        if alen < 4 or off + alen > len(data):
            break
        out.setdefault(atype & 0x3fff, []).append(data[off + 4:off + alen])
        off += (alen + 3) & ~3
    return out


class Case:
    """One malformed (or control) request.

    kind: what was done, without the random values (offences are grouped
    by it); desc: with them. data: the datagram, whose messages get
    sequence numbers at SEQ_OFFS. expect: "err" (an NLMSG_ERROR with an
    errno of ERRNOS, any if None, and an extack), "ok" (a valid request:
    a reply or ack), "silent" (netlink drops it: no answer, or ack 0).
    """

    def __init__(self, kind, desc, data, expect="err", errnos=None, seq_offs=(0,)):
        self.kind, self.desc, self.data = kind, desc, bytearray(data)
        self.expect, self.errnos, self.seq_offs = expect, errnos, seq_offs
        self.bind_rx = False   # a success must be undone (unbind)
        self.second = False    # judged on the answer to its second message


class Result:
    """What came back for one request: its messages (type, flags, payload)
    and the outcome: ("err", errno, extack), ("ok", replies) or ("none",)."""

    def __init__(self):
        self.msgs = []
        self.outcome = ("none",)


def parse_extack(flags, payload, skip):
    """The extack TLVs of an NLMSG_ERROR / NLMSG_DONE PAYLOAD, after SKIP
    bytes: {NLMSGERR_ATTR_*: value}."""
    ext = {}
    if not flags & NLM_F_ACK_TLVS:
        return ext
    for atype, vals in attrs_of(payload[skip:]).items():
        v = vals[-1]
        if atype == NLMSGERR_ATTR_MSG:
            ext[atype] = v.split(b"\0")[0].decode(errors="replace")
        elif len(v) == 4:
            ext[atype] = struct.unpack("=I", v)[0]
        else:
            ext[atype] = v
    return ext


class Genl:
    """A raw generic netlink socket, with extended and capped acks."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((0, 0))
        self.sock.settimeout(TIMEOUT)
        self.seq = 1000
        self.stray = []     # messages of no request waited for

    def close(self):
        """Closes the socket (what it bound goes)."""
        self.sock.close()

    def recv_msgs(self, timeout):
        """The messages of one datagram, or [] after TIMEOUT s."""
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return []
        data = self.sock.recv(1 << 17)
        out = []
        off = 0
        while off + 16 <= len(data):
            mlen, mtype, flags, seq, _ = struct.unpack_from("=IHHII", data, off)
            if mlen < 16:
                break
            out.append((mtype, flags, seq, bytes(data[off + 16:off + mlen])))
            off += (mlen + 3) & ~3
        return out

    def send(self, case):
        """Sends CASE's datagram; its sequence numbers."""
        seqs = []
        for off in case.seq_offs:
            self.seq += 1
            if off + 12 <= len(case.data):
                struct.pack_into("=I", case.data, off + 8, self.seq)
            seqs.append(self.seq)
        self.sock.send(bytes(case.data))
        return seqs

    def wait(self, seq, acked, timeout=TIMEOUT):
        """Reads until the answer of request SEQ is complete (ACKED: it
        asked for an ack, so a reply is followed by one); its Result."""
        res = Result()
        replies = []
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            msgs = self.recv_msgs(max(left, 0)) if left > 0 else []
            if not msgs:
                if replies:
                    res.outcome = ("ok", replies)
                return res
            for mtype, flags, mseq, payload in msgs:
                if mseq != seq:
                    self.stray.append((mtype, flags, mseq, payload[:64]))
                    continue
                res.msgs.append((mtype, flags, payload))
                if mtype == NLMSG_ERROR:
                    err = struct.unpack_from("=i", payload)[0]
                    inner = 16 if flags & NLM_F_CAPPED else \
                        struct.unpack_from("=I", payload, 4)[0]
                    ext = parse_extack(flags, payload, 4 + ((inner + 3) & ~3))
                    res.outcome = ("err", -err, ext) if err else ("ok", replies)
                    return res
                if mtype == NLMSG_DONE:
                    err = struct.unpack_from("=i", payload)[0] if len(payload) >= 4 else 0
                    ext = parse_extack(flags, payload, 4)
                    res.outcome = ("err", -err, ext) if err else ("ok", replies)
                    return res
                replies.append(payload)
                if not flags & NLM_F_MULTI and not acked:
                    res.outcome = ("ok", replies)
                    return res

    def request(self, case):
        """Sends CASE; the Result of its first message."""
        seqs = self.send(case)
        flags = struct.unpack_from("=H", case.data, 6)[0] if len(case.data) >= 8 else 0
        return self.wait(seqs[0], bool(flags & NLM_F_ACK))

    def family(self, name):
        """(id, version) of generic netlink family NAME."""
        body = genl(CTRL_CMD_GETFAMILY) + nla(CTRL_ATTR_FAMILY_NAME, name.encode() + b"\0")
        res = self.request(Case("ctrl", "getfamily", nlmsg(GENL_ID_CTRL, NLM_F_REQUEST, body)))
        if res.outcome[0] != "ok" or not res.outcome[1]:
            raise OSError(f"CTRL_CMD_GETFAMILY {name}: {res.outcome}")
        a = attrs_of(res.outcome[1][0][4:])
        return (struct.unpack("=H", a[CTRL_ATTR_FAMILY_ID][0][:2])[0],
                struct.unpack("=I", a[CTRL_ATTR_VERSION][0])[0])


class Fuzz:
    """The requests of each group, made from a seeded PRNG."""

    def __init__(self, fam, impl, seed, env):
        self.fam, self.impl, self.seed, self.env = fam, impl, seed, env
        self.rng = None

    # -- building blocks --------------------------------------------------

    def msg(self, cmd, body=b"", flags=None, version=None, reserved=0, mtype=None):
        """A request of CMD with BODY; flags (ack or not, echo or not) and
        version (1 or garbage: genetlink ignores it) random unless given."""
        r = self.rng
        if flags is None:
            flags = NLM_F_REQUEST | (NLM_F_ACK if r.random() < 0.7 else 0) | \
                (NLM_F_ECHO if r.random() < 0.1 else 0)
        if version is None:
            version = 1 if r.random() < 0.7 else r.choice([0, 2, 0x7f, 0xff])
        return nlmsg(self.fam if mtype is None else mtype, flags,
                     genl(cmd, version, reserved) + body)

    def wrong_len(self, atype):
        """ATYPE with a payload of a length a u32 has not (a nest: of
        1..3 bytes, or garbage)."""
        n = self.rng.choice(WRONG_LENS[1:] if atype & NLA_F_NESTED else WRONG_LENS)
        return n, nla(atype, self.rng.randbytes(n))

    def handler(self, op, errnos):
        """ERRNOS of a handler of OP, or EOPNOTSUPP where the C core's
        family answers before looking."""
        if self.impl != IMPL_RUST and op in (BINDING_GET, BIND_RX, UNBIND):
            return {EOPNOTSUPP}
        return set(errnos)

    def policy_mutations(self, op, name, attrs, maxattr, unspec=()):  # pylint: disable=R0913,R0917
        """Malformed variants of the request of OP made of ATTRS (a list of
        (type, payload), all u32 but nests): (kind, desc, body, errnos).
        Each is refused by the policy (strict validation) before the
        handler runs."""
        r = self.rng
        out = []
        i = r.randrange(len(attrs)) if attrs else None
        if attrs:
            atype, _ = attrs[i]
            n, bad = self.wrong_len(atype)
            body = b"".join(nla(t, p) for t, p in attrs[:i]) + bad + \
                b"".join(nla(t, p) for t, p in attrs[i + 1:])
            # Garbage in a nest may parse as a valid queue: then the
            # handler refuses the request.
            errs = {EINVAL, ERANGE} | self.handler(op, {ENODEV}) if atype & NLA_F_NESTED \
                else {EINVAL}
            out.append(("attr of wrong length", f"attr {atype & 0x3fff} of {n} bytes", body,
                        errs))
        base = b"".join(nla(t, p) for t, p in attrs)
        unknown = r.choice([0, maxattr + 1, SET_MAX[op] + 1, 0x7fff, 0x3fff,
                            r.randrange(maxattr + 1, 0x4000)] + list(unspec))
        kind = "unused attr type (policy NLA_UNSPEC)" if unknown in unspec else \
            "unknown attr type"
        extra = nla(unknown, r.randbytes(r.choice([0, 4, 8])))
        pos = r.randrange(2)
        out.append((kind, f"attr type {unknown:#x} {'first' if pos == 0 else 'last'}",
                    extra + base if pos == 0 else base + extra, {EINVAL}))
        nflag = r.choice([NLA_F_NESTED, NLA_F_NESTED | NLA_F_NET_BYTEORDER])
        out.append(("unknown attr type with NLA_F_NESTED",
                    f"attr {unknown:#x}|{nflag:#x}", base + nest(unknown, b"", nflag), {EINVAL}))
        if attrs and not attrs[i][0] & NLA_F_NESTED:
            atype, payload = attrs[i]
            body = b"".join(nla(t, p) for t, p in attrs[:i]) + \
                nla(atype | NLA_F_NESTED, payload) + \
                b"".join(nla(t, p) for t, p in attrs[i + 1:])
            out.append(("NLA_F_NESTED on a u32", f"attr {atype}|NLA_F_NESTED", body, {EINVAL}))
        # Broken framing of the attributes.
        cut = r.choice([1, 2, 3])
        out.append(("trailing bytes after the attrs", f"{cut} bytes", base + r.randbytes(cut),
                    {EINVAL}))
        claim = r.choice([0, 1, 2, 3])
        out.append(("nla_len below the nlattr header", f"nla_len {claim}",
                    base + nla(1, b"\0" * 4, claim), {EINVAL}))
        over = r.choice([12, 100, 0xffff])      # it has 8 bytes
        out.append(("nla_len beyond the message", f"last attr nla_len {over}",
                    base + nla(attrs[i][0] if attrs else 1, b"\1\0\0\0", over), {EINVAL}))
        out.append(("many unknown attrs", f"{BIG} x attr {maxattr + 1}",
                    base + nla(maxattr + 1, b"\0" * 4) * BIG, {EINVAL}))
        garbage = r.randbytes(r.randrange(1, 48))
        out.append(("random garbage body", f"{len(garbage)} bytes {garbage.hex()}", garbage,
                    None))
        return [(f"{name}: {k}", f"{name}: {k}: {d}", b, e) for k, d, b, e in out]

    def cases_of(self, op, name, attrs, maxattr, n, extra=None, unspec=()):
        """N cases of OP: policy mutations and EXTRA's (a function giving
        a list like policy_mutations)."""
        out = []
        while len(out) < n:
            muts = self.policy_mutations(op, name, attrs, maxattr, unspec)
            if extra:
                muts += extra()
            for kind, desc, body, errs in self.rng.sample(muts, len(muts)):
                out.append(Case(kind, desc, self.msg(op, body), "err", errs))
        return out[:n]

    def good_body(self, op):
        """Attributes of OP its policy accepts: a bench of 1 ms, an
        unknown binding id, a device that does not exist."""
        return {CAPS_GET: b"",
                BINDING_GET: u32(B_ID, 0xffffffff),
                ALLOC_BENCH: u32(1, 16) + u32(2, 4) + u32(3, 1),
                TOKEN_BENCH: u32(1, 0) + u32(2, 1) + u32(3, 1),
                BIND_RX: u32(B_IFINDEX, 0x7ffffff0) + u32(B_FD, self.env.closed_fd) +
                nest(B_QUEUES, u32(Q_ID, 0)),
                UNBIND: u32(B_ID, 0xffffffff)}[op]

    # -- groups -----------------------------------------------------------

    def caps_get(self, n):
        """caps-get: attributes of any kind. Its reply has nine attrs and
        its request none: strict validation refuses any attribute."""
        r = self.rng
        out = [Case("caps-get: valid", "caps-get", self.msg(CAPS_GET), "ok")]
        for _ in range(3):
            v = r.choice([0, 2, 0xff])
            out.append(Case("caps-get: version garbage (genetlink ignores it)",
                            f"caps-get: version {v}", self.msg(CAPS_GET, version=v), "ok"))
        attrs = [(CAPS_IMPLEMENTATION, struct.pack("=I", IMPL_RUST))]
        out += self.cases_of(CAPS_GET, "caps-get", attrs, 0, n - len(out))
        return out[:n]

    def binding_get(self, n):
        """binding-get: do (ids 0, 1, 2^32-1, policy mutations) and dump."""
        r = self.rng

        def ids():
            out = []
            for v, errs, why in ((0, {ERANGE}, "policy min 1"),
                                 (1, self.handler(BINDING_GET, {ENOENT}), "not bound"),
                                 (0xffffffff, self.handler(BINDING_GET, {ENOENT}), "not bound")):
                out.append(("binding-get: id " + why, f"binding-get: id {v:#x}", u32(B_ID, v),
                            errs))
            out.append(("binding-get: id missing", "binding-get: no attr", b"",
                        self.handler(BINDING_GET, {EINVAL})))
            out.append(("binding-get: many id attrs", f"binding-get: {BIG} x id 0xffffffff",
                        u32(B_ID, 0xffffffff) * BIG, self.handler(BINDING_GET, {ENOENT})))
            return out

        out = self.cases_of(BINDING_GET, "binding-get", [(B_ID, struct.pack("=I", 1))], 1,
                            n * 3 // 4, ids)
        # The dump takes no attribute: each is refused (EINVAL) when it
        # starts, malformed or not.
        while len(out) < n:
            muts = self.policy_mutations(BINDING_GET, "binding-get dump",
                                         [(B_ID, struct.pack("=I", 1))], 1)
            muts.append(("binding-get dump: id 0", "binding-get dump: id 0", u32(B_ID, 0),
                         {EINVAL}))
            # The spec's dump has no request attributes: strict
            # validation refuses any (a filter it would ignore).
            v = r.choice([1, 2, 0xffffffff])
            muts.append(("binding-get dump: an id (the dump takes no attrs)",
                         f"binding-get dump: id {v:#x}", u32(B_ID, v), {EINVAL}))
            for kind, desc, body, errs in muts:
                flags = NLM_F_REQUEST | NLM_F_DUMP | (NLM_F_ACK if r.random() < 0.5 else 0)
                out.append(Case(kind, desc, self.msg(BINDING_GET, body, flags=flags), "err",
                                errs))
        return out[:n]

    def alloc_bench(self, n):
        """alloc-bench: policy mutations, values out of the spec's checks."""
        r = self.rng
        good = {1: 16, 2: 4, 3: 1}

        def ranges():
            out = []
            a = r.choice([1, 2, 3])
            body = b"".join(u32(t, 0 if t == a else v) for t, v in good.items())
            out.append(("alloc-bench: value 0 (policy min 1)", f"alloc-bench: attr {a} = 0",
                        body, {ERANGE}))
            vals = dict(good)
            a = r.choice([1, 2, 3])
            vals[a] = r.choice([60001, 1 << 20 | 1, 0xffffffff, r.randrange(1 << 21, 1 << 32)]) \
                if a == 3 else r.choice([(1 << 20) + 1, 0xffffffff, r.randrange(1 << 21, 1 << 32)])
            if a == 2:
                vals[1] = 1 << 20   # batch above its max, not only above niovs
            out.append(("alloc-bench: value above max", f"alloc-bench: {vals}",
                        b"".join(u32(t, v) for t, v in vals.items()), {ERANGE}))
            nio = r.randrange(1, 64)
            out.append(("alloc-bench: batch above niovs", f"alloc-bench: niovs {nio}",
                        u32(1, nio) + u32(2, nio + 1 + r.randrange(100)) + u32(3, 1), {EINVAL}))
            miss = r.choice([1, 2, 3])
            out.append(("alloc-bench: attr missing", f"alloc-bench: no attr {miss}",
                        b"".join(u32(t, v) for t, v in good.items() if t != miss), {EINVAL}))
            return out

        attrs = [(t, struct.pack("=I", v)) for t, v in good.items()]
        return self.cases_of(ALLOC_BENCH, "alloc-bench", attrs, 3, n, ranges)

    def token_bench(self, n):
        """token-bench: policy mutations, values out of the spec's checks."""
        r = self.rng
        good = {1: 0, 2: 1, 3: 1}

        def ranges():
            out = []
            f = r.choice([0, 18, 19, 255, 0xffffffff, r.randrange(18, 1 << 32)])
            out.append(("token-bench: frags out of 1..17 (policy)", f"token-bench: frags {f}",
                        u32(1, 0) + u32(2, f) + u32(3, 1), {ERANGE}))
            out.append(("token-bench: msecs 0 (policy min 1)", "token-bench: msecs 0",
                        u32(1, 0) + u32(2, 1) + u32(3, 0), {ERANGE}))
            h = r.choice([(1 << 20) + 1, 0xffffffff, r.randrange(1 << 21, 1 << 32)])
            out.append(("token-bench: held above max", f"token-bench: held {h}",
                        u32(1, h) + u32(2, 1) + u32(3, 1), {ERANGE}))
            m = r.choice([60001, 0xffffffff, r.randrange(60001, 1 << 32)])
            out.append(("token-bench: msecs above max", f"token-bench: msecs {m}",
                        u32(1, 0) + u32(2, 1) + u32(3, m), {ERANGE}))
            miss = r.choice([1, 2, 3])
            out.append(("token-bench: attr missing", f"token-bench: no attr {miss}",
                        b"".join(u32(t, v) for t, v in good.items() if t != miss), {EINVAL}))
            return out

        attrs = [(t, struct.pack("=I", v)) for t, v in good.items()]
        return self.cases_of(TOKEN_BENCH, "token-bench", attrs, 3, n, ranges)

    def unbind(self, n):
        """unbind: ids 0, 1, 2, 2^32-1, policy mutations."""
        def ids():
            out = []
            for v, errs, why in ((0, {ERANGE}, "policy min 1"),
                                 (1, self.handler(UNBIND, {ENOENT}), "not bound"),
                                 (2, self.handler(UNBIND, {ENOENT}), "not bound"),
                                 (0xffffffff, self.handler(UNBIND, {ENOENT}), "not bound")):
                out.append(("unbind: id " + why, f"unbind: id {v:#x}", u32(B_ID, v), errs))
            out.append(("unbind: id missing", "unbind: no attr", b"",
                        self.handler(UNBIND, {EINVAL})))
            return out

        return self.cases_of(UNBIND, "unbind", [(B_ID, struct.pack("=I", 1))], 1, n, ids)

    def bind_rx(self, n):
        """bind-rx: policy mutations of a request for a device that does
        not exist, then requests the handler refuses: each ifindex (0, lo,
        none, the port) with each fd (not a dma-buf, closed, -1, or a real
        udmabuf) and queue list."""
        r = self.rng
        env = self.env
        unspec = [1, 3, 4, 5, 6, 7, 8, 11, 12]

        def q(idx, flags=NLA_F_NESTED):
            return nest(B_QUEUES, u32(Q_ID, idx), flags)

        def nests():
            out = []
            body = u32(B_IFINDEX, 0x7ffffff0) + u32(B_FD, env.closed_fd)
            inner = r.choice([
                ("queue id of wrong length", lambda: self.wrong_len(Q_ID)[1], {EINVAL}),
                ("queue nest: unknown attr", lambda: nla(r.choice([0, 2, 0x7fff, 0x3ff]),
                                                         b"\0" * 4), {EINVAL}),
                ("queue id with NLA_F_NESTED", lambda: nest(Q_ID, b"\1\0\0\0"), {EINVAL}),
                ("queue nest: garbage", lambda: r.randbytes(r.randrange(1, 24)), {EINVAL, ERANGE}),
                ("queue nest: truncated nlattr", lambda: u32(Q_ID, 1)[:r.choice([4, 5, 6, 7])],
                 {EINVAL}),
                ("queue nest: nla_len beyond the nest", lambda: nla(Q_ID, b"\1\0\0\0",
                                                                    r.choice([12, 64, 0xffff])),
                 {EINVAL}),
                ("queue nest: nested nest", lambda: nest(Q_ID, u32(Q_ID, 1)), {EINVAL}),
            ])
            kind, make, errs = inner
            payload = make()
            out.append((f"bind-rx: {kind}", f"bind-rx: queue nest {payload.hex()}",
                        body + nest(B_QUEUES, payload), errs))
            out.append(("bind-rx: queues without NLA_F_NESTED", "bind-rx: queues flag 0",
                        body + q(1, 0), {EINVAL}))
            out.append(("bind-rx: queue nest of 1..3 bytes", "bind-rx: queues of 2 bytes",
                        body + nla(B_QUEUES | NLA_F_NESTED, b"\1\0"), {ERANGE}))
            out.append(("bind-rx: ifindex 0 (policy min 1)", "bind-rx: ifindex 0",
                        u32(B_IFINDEX, 0) + u32(B_FD, env.closed_fd) + q(0), {ERANGE}))
            return out

        base = [(B_IFINDEX, struct.pack("=I", 0x7ffffff0)),
                (B_FD, struct.pack("=I", env.closed_fd)),
                (B_QUEUES | NLA_F_NESTED, u32(Q_ID, 0))]
        out = self.cases_of(BIND_RX, "bind-rx", base, B_MAX, n // 2,
                            lambda: nests() + self.flows(), unspec)
        out += self.bind_handler(n - len(out))
        return out

    def flow(self, vals=None, drop=()):
        """A flow nest: IPv4 TCP to 192.0.2.1:5000 but for VALS
        ({attr: payload bytes}) and DROP (attrs left out)."""
        attrs = {F_FAMILY: struct.pack("=I", 4), F_PROTO: struct.pack("=I", 6),
                 F_DST_ADDR: bytes([192, 0, 2, 1]), F_DST_PORT: struct.pack("=H", 5000)}
        attrs.update(vals or {})
        return nest(B_FLOW, b"".join(nla(t, p) for t, p in attrs.items() if t not in drop))

    def flows(self):
        """bind-rx with a malformed flow (one queue, a device that does
        not exist: a well-formed one gets ENODEV)."""
        r = self.rng
        env = self.env
        head = u32(B_IFINDEX, 0x7ffffff0) + u32(B_FD, env.closed_fd) + \
            nest(B_QUEUES, u32(Q_ID, 0))

        def u32b(v):
            return struct.pack("=I", v)

        fam = r.choice([0, 1, 3, 7, 10, 0xffffffff])
        proto = r.choice([256, 0x10000, 0xffffffff])
        other = r.choice([0, 1, 17, 58, 255])
        alen = r.choice([0, 1, 2, 3, 17, 20, 64])
        mlen = r.choice([5, 6, 8, 12, 15])
        addr = r.choice([F_DST_ADDR, F_SRC_ADDR])
        port = r.choice([F_DST_PORT, F_SRC_PORT])
        plen = r.choice([0, 1, 3, 4, 8])
        miss = r.choice([F_FAMILY, F_PROTO, F_DST_ADDR, F_DST_PORT])
        h = self.handler
        cases = [
            ("flow well-formed, no such device", "", self.flow(), h(BIND_RX, {ENODEV})),
            ("flow family out of 4..6 (policy)", f"family {fam}",
             self.flow({F_FAMILY: u32b(fam)}), {ERANGE}),
            ("flow family 5", "family 5", self.flow({F_FAMILY: u32b(5)}),
             h(BIND_RX, {EINVAL})),
            ("flow proto above 255 (policy)", f"proto {proto}",
             self.flow({F_PROTO: u32b(proto)}), {ERANGE}),
            ("flow proto not TCP", f"proto {other}", self.flow({F_PROTO: u32b(other)}),
             h(BIND_RX, {EOPNOTSUPP})),
            ("flow address out of 4..16 bytes (policy)", f"attr {addr} of {alen} bytes",
             self.flow({addr: r.randbytes(alen)}), {ERANGE}),
            ("flow address not of the family's length", f"attr {addr} of {mlen} bytes",
             self.flow({addr: r.randbytes(mlen)}), h(BIND_RX, {EINVAL})),
            ("flow IPv6 with a 4-byte address", "family 6, dst 4 bytes",
             self.flow({F_FAMILY: u32b(6)}), h(BIND_RX, {EINVAL})),
            ("flow port 0 (policy min 1)", f"attr {port} = 0",
             self.flow({port: struct.pack("=H", 0)}), {ERANGE}),
            ("flow port of wrong length", f"attr {port} of {plen} bytes",
             self.flow({port: r.randbytes(plen)}), {EINVAL}),
            ("flow attr missing", f"no attr {miss}", self.flow(drop=(miss,)),
             h(BIND_RX, {EINVAL})),
            ("flow location (reply only)", "location 0",
             self.flow({F_LOCATION: u32b(0)}), {EINVAL}),
            ("flow unknown attr", "attr 0x3fff", self.flow({0x3fff: b""}), {EINVAL}),
            ("flow NLA_F_NESTED on a u32", "family|NLA_F_NESTED",
             nest(B_FLOW, nest(F_FAMILY, u32b(4))), {EINVAL}),
            ("flow without NLA_F_NESTED", "flow flag 0",
             nla(B_FLOW, self.flow()[4:]), {EINVAL}),
            ("flow nest: garbage", "", nest(B_FLOW, r.randbytes(r.randrange(1, 40))), None),
            ("flow nest: truncated nlattr", "",
             nest(B_FLOW, u32(F_FAMILY, 4)[:r.choice([4, 5, 6, 7])]), {EINVAL}),
            ("flow nest: nla_len beyond the nest", "",
             nest(B_FLOW, nla(F_FAMILY, u32b(4), r.choice([12, 64, 0xffff]))), {EINVAL}),
        ]
        out = [(f"bind-rx: {k}", f"bind-rx: {k}: {d}", head + f, e) for k, d, f, e in cases]
        out.append(("bind-rx: flow with two queues", "bind-rx: flow, queues 0, 1",
                    head + nest(B_QUEUES, u32(Q_ID, 1)) + self.flow(), h(BIND_RX, {EINVAL})))
        return out

    def bind_handler(self, n):
        """bind-rx requests the policy lets through."""
        r = self.rng
        env = self.env
        fds = [("pipe", env.pipe_fd, EINVAL), ("/dev/null", env.null_fd, EINVAL),
               ("closed fd", env.closed_fd, EBADF), ("fd -1", 0xffffffff, EBADF),
               ("fd 0x80000000", 0x80000000, EBADF), ("fd 0xfffffffe", 0xfffffffe, EBADF)]
        devs = [("lo", 1), ("no such ifindex", 0x7ffffff0)]
        if env.port_ifindex:
            devs.append(("port", env.port_ifindex))
        queue_sets = [
            ("queue 0", [0]), ("queue 2^32-1", [0xffffffff]),
            (f"{BIG} queues 1", [1] * BIG), (f"{BIG} queues 0..{BIG - 1}", list(range(BIG))),
            ("empty queue nest", None),
        ]
        out = []
        while len(out) < n:
            dname, ifx = r.choice(devs)
            fname, fd, ferr = r.choice(fds + ([("udmabuf", env.dmabuf, None)] * 2
                                              if env.dmabuf is not None else []))
            qname, qs = r.choice(queue_sets)
            if dname == "port" and fname == "udmabuf":
                # Never a valid set: queues out of range, listed twice, or
                # none in a nest.
                # Queue 1 bound, then listed again: EEXIST (ENODATA
                # already when header split is off; ERANGE without it).
                twice = {EEXIST} if env.hsplit else {EEXIST, ENODATA}
                if env.queues < 2:
                    twice = {ERANGE}
                qname, qs, errs = r.choice([
                    ("queue 2^32-1", [0xffffffff], {ERANGE}),
                    (f"queue {env.queues}", [env.queues], {ERANGE}),
                    ("queue 1 twice", [1, 1], twice),
                    (f"{BIG} queues 1", [1] * BIG, twice),
                    (f"queues 1..{BIG}", list(range(1, BIG + 1)),
                     {ERANGE} if env.hsplit else {ERANGE, ENODATA}),
                    ("empty queue nest", None, {EINVAL}),
                ])
            elif dname == "no such ifindex":
                errs = {ENODEV}
            elif fname == "udmabuf":
                errs = {EINVAL}     # lo has no parent device to attach
            else:
                errs = {ferr}
            queues = nest(B_QUEUES, b"") if qs is None else \
                b"".join(nest(B_QUEUES, u32(Q_ID, i)) for i in qs)
            parts = [u32(B_IFINDEX, ifx), u32(B_FD, fd), queues]
            flow = ""
            if qs is not None and len(qs) == 1 and r.random() < 0.3:
                # A flow to the one queue (one out of range on the port
                # with the dma-buf): checked before the fd.
                parts.append(self.flow())
                qname += " + flow"
                flow = ", flow"
                nq = {"lo": 1, "port": env.queues}.get(dname)
                if nq is not None and qs[0] >= nq:
                    errs = {ERANGE}     # the flow's queue, before the fd
                    flow = ", flow to a queue out of range"
            missing = r.random() < 0.2
            if missing:
                drop = r.randrange(3)
                what = ("ifindex", "fd", "queues")[drop]
                parts.pop(drop)
                errs = {EINVAL}
                desc = f"bind-rx: {dname}, {fname}, {qname}, {what} missing"
                kind = f"bind-rx: {what} missing"
            else:
                desc = f"bind-rx: {dname}, {fname}, {qname}"
                kind = f"bind-rx: {dname}, {fname}" + \
                    (f", {qname}" if dname == "port" and fname == "udmabuf" else flow)
            c = Case(kind, desc, self.msg(BIND_RX, b"".join(parts)), "err",
                     self.handler(BIND_RX, errs))
            c.bind_rx = True
            out.append(c)
        return out

    def unknown_cmds(self, n):
        """Commands the family has no op for: 0, the notifications, 9..255."""
        r = self.rng
        out = []
        cmds = [0, BIND_NTF, UNBIND_NTF, 9, 255] + [r.randrange(9, 256) for _ in range(n)]
        for cmd in cmds:
            body = r.choice([b"", u32(1, 1), r.randbytes(r.randrange(0, 16))])
            res = r.random()
            reserved = r.getrandbits(16) if res < 0.2 else 0
            flags = NLM_F_REQUEST | r.choice([0, NLM_F_ACK, NLM_F_DUMP, NLM_F_ACK | NLM_F_DUMP])
            name = {0: "cmd 0", BIND_NTF: "cmd bind-ntf", UNBIND_NTF: "cmd unbind-ntf"}.get(
                cmd, "cmd 9..255")
            if reserved:
                name += ", reserved != 0"
            out.append(Case(f"unknown cmd: {name}",
                            f"cmd {cmd}, flags {flags:#x}, reserved {reserved:#x}, "
                            f"body {body.hex()}",
                            self.msg(cmd, body, flags=flags, reserved=reserved), "err",
                            {EOPNOTSUPP, EINVAL}))
        return out[:n]

    def raw_framing(self, n):
        """Broken netlink and genetlink headers."""
        r = self.rng
        out = []
        ops = [CAPS_GET, BINDING_GET, ALLOC_BENCH, TOKEN_BENCH, BIND_RX, UNBIND]
        do_only = [CAPS_GET, ALLOC_BENCH, TOKEN_BENCH, BIND_RX, UNBIND]
        while len(out) < n:
            op = r.choice(ops)
            k = r.randrange(4)
            hdr = genl(op)[:k]
            out.append(Case("truncated genlmsghdr", f"cmd {op}, {k} of 4 bytes",
                            nlmsg(self.fam, NLM_F_REQUEST | NLM_F_ACK, hdr), "err", {EINVAL}))
            # nlmsg_len beyond the datagram, or below a header: netlink
            # never parses it.
            body = genl(op) + u32(1, 1)
            over = r.choice([4, 8, 100, 0x10000, 0xffffffff - 20])
            out.append(Case("nlmsg_len beyond the datagram", f"cmd {op}, +{over}",
                            nlmsg(self.fam, NLM_F_REQUEST | NLM_F_ACK, body,
                                  min(16 + len(body) + over, 0xffffffff)), "silent"))
            short = r.choice([0, 1, 8, 15])
            out.append(Case("nlmsg_len below NLMSG_HDRLEN", f"cmd {op}, nlmsg_len {short}",
                            nlmsg(self.fam, NLM_F_REQUEST | NLM_F_ACK, body, short), "silent"))
            out.append(Case("datagram shorter than nlmsghdr", "",
                            r.randbytes(r.randrange(1, 16)), "silent"))
            out.append(Case("no NLM_F_REQUEST", f"cmd {op}",
                            nlmsg(self.fam, r.choice([0, NLM_F_ACK]), body), "silent"))
            # nlmsg_len shorter than the datagram: the message ends early,
            # cutting an attribute.
            full = genl(BINDING_GET) + u32(B_ID, 0xffffffff)
            cut = r.choice([1, 2, 3, 5, 6, 7])
            out.append(Case("nlmsg_len cuts an attribute", f"binding-get, {cut} bytes of it",
                            nlmsg(self.fam, NLM_F_REQUEST | NLM_F_ACK, full, 20 + cut), "err",
                            {EINVAL}))
            # Header fields, on a request whose attributes pass the
            # policy (the header alone is wrong): strict genetlink refuses
            # them (genl_header_check()) before the op runs.
            res = r.randrange(1, 1 << 16)
            out.append(Case(f"genlmsghdr.reserved != 0 ({OP_NAMES[op]})",
                            f"cmd {op}, reserved {res:#x}",
                            self.msg(op, self.good_body(op), reserved=res), "err", {EINVAL}))
            bogus = r.choice([NLM_F_ROOT, NLM_F_MATCH, NLM_F_ATOMIC, 0x800, 0x1000, 0x8000,
                              NLM_F_MULTI, 0x10])
            out.append(Case(f"reserved bits in nlmsg_flags ({OP_NAMES[op]})",
                            f"cmd {op}, flags {bogus:#x}",
                            self.msg(op, self.good_body(op),
                                     flags=NLM_F_REQUEST | NLM_F_ACK | bogus), "err", {EINVAL}))
            dop = r.choice(do_only)
            out.append(Case(f"dump flag on a do-only op ({OP_NAMES[dop]})", f"cmd {dop}",
                            self.msg(dop, flags=NLM_F_REQUEST | NLM_F_DUMP |
                                     r.choice([0, NLM_F_ACK])), "err", {EOPNOTSUPP}))
            # Several messages in one datagram: each is answered.
            a = self.msg(CAPS_GET, flags=NLM_F_REQUEST | NLM_F_ACK)
            b = self.msg(UNBIND, u32(B_ID, 0), flags=NLM_F_REQUEST | NLM_F_ACK)
            c = Case("second message of a datagram", "caps-get + unbind id 0", a + b, "err",
                     {ERANGE}, seq_offs=(0, len(a)))
            c.second = True
            out.append(c)
        return out[:n]


class Env:
    """Fds and devices the bind-rx cases use; closed by close()."""

    def __init__(self, with_dmabuf):
        self.fds = []
        r, w = os.pipe()
        self.fds += [r, w]
        self.pipe_fd = r
        self.null_fd = os.open("/dev/null", os.O_RDWR)
        self.fds.append(self.null_fd)
        fd = os.open("/dev/null", os.O_RDONLY)
        os.close(fd)
        self.closed_fd = fd
        self.dmabuf = None
        self.port_ifindex = None
        self.queues = 0
        self.hsplit = None
        if not with_dmabuf or not os.path.exists("/dev/udmabuf"):
            return
        self.dmabuf = udmabuf(1 << 20)
        self.fds.append(self.dmabuf)
        name = port_netdev(0)
        if not name:
            return
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        with open(f"/sys/class/net/{name}/ifindex", encoding="ascii") as f:
            self.port_ifindex = int(f.read())
        self.queues = len([q for q in os.listdir(f"/sys/class/net/{name}/queues")
                           if q.startswith("rx-")])
        et = ethtool()
        if et:
            # Header split on: a queue listed twice gets as far as binding
            # the first, then EEXIST (without it ENODATA on the first).
            rc = subprocess.run([et, "-G", name, "tcp-data-split", "on"], capture_output=True,
                                check=False)
            self.hsplit = (et, name) if rc.returncode == 0 else None

    def close(self):
        """Closes the fds, header split back off."""
        for fd in self.fds:
            os.close(fd)
        if self.hsplit:
            et, name = self.hsplit
            subprocess.run([et, "-G", name, "tcp-data-split", "off"], capture_output=True,
                           check=False)


def ename(err):
    """The name of errno ERR."""
    return "EOPNOTSUPP" if err == EOPNOTSUPP else errno.errorcode.get(err, str(err))


def judge(case, res):
    """Why RES is wrong for CASE, or None."""
    out = res.outcome
    if case.expect == "silent":
        if out[0] == "err":
            return f"answered errno {out[1]}"
        return None
    if out[0] == "none":
        return "no answer"
    if case.expect == "ok":
        return None if out[0] == "ok" else f"errno {out[1]} (valid request)"
    if out[0] == "ok":
        return "accepted"
    err, ext = out[1], out[2]
    problems = []
    if err <= 0 or err > 4095:
        problems.append(f"odd errno {err}")
    elif case.errnos is not None and err not in case.errnos:
        want = "/".join(ename(e) for e in sorted(case.errnos))
        problems.append(f"errno {ename(err)} (want {want})")
    if not (NLMSGERR_ATTR_MSG in ext or NLMSGERR_ATTR_OFFS in ext
            or NLMSGERR_ATTR_MISS_TYPE in ext):
        problems.append(f"no extack ({ename(err)})")
    offs = ext.get(NLMSGERR_ATTR_OFFS)
    if offs is not None and (offs < 20 or offs >= len(case.data)):
        problems.append(f"bad-attr offset {offs} outside the request")
    return "; ".join(problems) or None


class Runner:
    """Sends cases, judges the answers, keeps statistics."""

    def __init__(self, nl, fam):
        self.nl, self.fam = nl, fam
        self.total = 0
        self.by_outcome = {}
        self.by_kind = {}      # kind: {outcome: count}
        self.leftover_ids = []

    def ping(self):
        """A caps-get: the socket still answers."""
        c = Case("ping", "caps-get", nlmsg(self.fam, NLM_F_REQUEST | NLM_F_ACK, genl(CAPS_GET)),
                 "ok")
        return self.nl.request(c).outcome[0] == "ok"

    def run(self, case):
        """The problem with CASE's answer, or None."""
        self.total += 1
        seqs = self.nl.send(case)
        flags = struct.unpack_from("=H", case.data, 6)[0] if len(case.data) >= 8 else 0
        if case.expect == "silent":
            # Netlink handles the datagram in sendmsg(): a ping sent after
            # it is answered after anything it got.
            stray = len(self.nl.stray)
            ok = self.ping()
            res = Result()
            for mtype, _, mseq, payload in self.nl.stray[stray:]:
                if mseq == seqs[0] and mtype == NLMSG_ERROR:
                    err = struct.unpack_from("=i", payload)[0]
                    res.outcome = ("err", -err, {}) if err else ("ok", [])
            del self.nl.stray[stray:]
            why = judge(case, res)
            if not ok:
                why = (why + "; " if why else "") + "socket no longer answers"
            self.count(case, res)
            return why
        if case.second:
            first = self.nl.wait(seqs[0], True)
            res = self.nl.wait(seqs[1], True)
            if first.outcome[0] != "ok":
                return f"first message: {first.outcome}"
        else:
            res = self.nl.wait(seqs[0], bool(flags & NLM_F_ACK))
        self.count(case, res)
        if case.bind_rx and res.outcome[0] == "ok":
            self.undo_bind(res)
        return judge(case, res)

    def count(self, case, res):
        """Counts RES's outcome, overall and for CASE's kind."""
        out = res.outcome
        key = out[0] if out[0] != "err" else ename(out[1])
        self.by_outcome[key] = self.by_outcome.get(key, 0) + 1
        if out[0] == "err":
            ext = out[2]
            key += "+msg" if NLMSGERR_ATTR_MSG in ext else \
                "+offs" if NLMSGERR_ATTR_OFFS in ext else \
                "+miss" if NLMSGERR_ATTR_MISS_TYPE in ext else ""
        kind = self.by_kind.setdefault(case.kind, {})
        kind[key] = kind.get(key, 0) + 1

    def undo_bind(self, res):
        """A bind-rx that bound after all: unbound at once."""
        for payload in res.outcome[1]:
            ids = attrs_of(payload[4:]).get(B_ID)
            if ids:
                ident = struct.unpack("=I", ids[0])[0]
                self.leftover_ids.append(ident)
                c = Case("undo", "unbind", nlmsg(self.fam, NLM_F_REQUEST | NLM_F_ACK,
                                                 genl(UNBIND) + u32(B_ID, ident)), "ok")
                self.nl.request(c)


def run_group(runner, cases):
    """Runs CASES; prints the offences by kind; the case passes if none."""
    offences = {}
    t0 = time.monotonic()
    for case in cases:
        why = runner.run(case)
        if why:
            offences.setdefault((case.kind, why), []).append(case)
    took = time.monotonic() - t0
    kinds = sorted({c.kind for c in cases})
    ksft_pr(f"{len(cases)} requests of {len(kinds)} kinds in {took:.1f} s; answers by kind:")
    for kind in kinds:
        outs = runner.by_kind.get(kind, {})
        ksft_pr(f"  {kind}: " + ", ".join(f"{n} {o}" for o, n in sorted(outs.items())))
    for (kind, why), bad in sorted(offences.items()):
        ksft_pr(f"OFFENCE {kind}: {why}: {len(bad)} request(s), e.g.")
        for c in bad[:REPORT]:
            ksft_pr(f"    {c.desc} [{bytes(c.data[:48]).hex()}]")
    nbad = sum(len(v) for v in offences.values())
    ksft_true(nbad == 0, comment=f"{nbad} of {len(cases)} requests offend "
              f"({len(offences)} kinds)")


def dmesg():
    """The kernel log's lines."""
    out = subprocess.run(["dmesg"], capture_output=True, text=True, check=False)
    return out.stdout.splitlines()


KMEMLEAK = "/sys/kernel/debug/kmemleak"


def kmemleak_scan():
    """({address: line} of what kmemleak reports after a scan, its
    report), or None without kmemleak."""
    if not os.access(KMEMLEAK, os.W_OK):
        return None
    with open(KMEMLEAK, "w", encoding="ascii") as f:
        f.write("scan")
    with open(KMEMLEAK, encoding="utf-8", errors="replace") as f:
        text = f.read()
    found = re.finditer(r"unreferenced object (0x[0-9a-f]+).*", text)
    return {m.group(1): m.group(0) for m in found}, text


def main():  # pylint: disable=too-many-locals
    """Runs the fuzz: one KTAP case per group, then the checks."""
    seed = int(os.environ.get("DEVMEM_FUZZ_SEED", str(random.SystemRandom().getrandbits(32))))
    total = int(os.environ.get("DEVMEM_FUZZ_N", "8000"))
    print(f"# seed {seed} (DEVMEM_FUZZ_SEED={seed} replays), {total} requests (DEVMEM_FUZZ_N)")
    t_start = time.monotonic()
    log0 = len(dmesg())
    leak0 = kmemleak_scan()
    if leak0 is not None:
        print(f"# kmemleak: {len(leak0[0])} report(s) before the fuzz "
              f"({time.monotonic() - t_start:.1f} s)")
    nl = Genl()
    fam, version = nl.family("devmem")
    nl2 = Genl()
    caps = nl2.request(Case("caps", "caps-get", nlmsg(fam, NLM_F_REQUEST, genl(CAPS_GET))))
    nl2.close()
    impl = struct.unpack("=I", attrs_of(caps.outcome[1][0][4:])[CAPS_IMPLEMENTATION][0])[0]
    print(f"# devmem family id {fam:#x}, version {version}, core "
          f"{ {IMPL_C: 'c', IMPL_RUST: 'rust'}.get(impl, impl) }")
    env = Env(with_dmabuf=True)
    print(f"# bind-rx fds: pipe {env.pipe_fd}, /dev/null {env.null_fd}, closed {env.closed_fd}, "
          f"udmabuf {env.dmabuf}; port ifindex {env.port_ifindex} ({env.queues} rx queues, "
          f"header split {'on' if env.hsplit else 'as is'})")
    runner = Runner(nl, fam)
    fz = Fuzz(fam, impl, seed, env)
    weights = [("caps_get", fz.caps_get, 5), ("binding_get", fz.binding_get, 14),
               ("alloc_bench", fz.alloc_bench, 12), ("token_bench", fz.token_bench, 12),
               ("bind_rx", fz.bind_rx, 22), ("unbind", fz.unbind, 12),
               ("unknown_cmds", fz.unknown_cmds, 8), ("raw_framing", fz.raw_framing, 15)]
    scale = total / sum(w for _, _, w in weights)

    def group(name, gen, weight):
        def case():
            fz.rng = random.Random(f"{seed}-{name}")
            run_group(runner, gen(max(8, round(weight * scale))))
        case.__name__ = name
        return case

    def no_leftovers():
        """Nothing bound, logged or leaked after the fuzz."""
        t0 = time.monotonic()
        ksft_true(runner.ping(), comment="the socket still answers")
        nl.close()     # releases anything bound through it
        ksft_true(not runner.leftover_ids,
                  comment=f"bind-rx requests that bound: {runner.leftover_ids}")
        obs = Genl()
        c = Case("dump", "binding-get dump",
                 nlmsg(fam, NLM_F_REQUEST | NLM_F_DUMP, genl(BINDING_GET)), "ok")
        res = obs.request(c)
        obs.close()
        if impl == IMPL_RUST:
            ksft_true(res.outcome == ("ok", []), comment=f"binding-get dump empty: {res.outcome}")
        netdev = YnlFamily(spec("netdev"))
        bound = [q for q in netdev.queue_get({}, dump=True) if "dmabuf" in q]
        pools = [p for p in netdev.page_pool_get({}, dump=True) if "dmabuf" in p]
        ksft_true(not bound, comment=f"no queue bound: {bound}")
        ksft_true(not pools, comment=f"no page pool of a dma-buf: {pools}")
        new = [ln for ln in dmesg()[log0:] if REPORTS.search(ln)]
        for ln in new[:20]:
            ksft_pr(f"kernel log: {ln}")
        ksft_true(not new, comment=f"{len(new)} kernel log reports")
        if leak0 is None:
            ksft_pr("no kmemleak: not checked")
            return
        time.sleep(6)    # kmemleak reports objects older than 5 s
        leaks = kmemleak_scan()
        fresh = {a: ln for a, ln in leaks[0].items() if a not in leak0[0]}
        ksft_pr(f"kmemleak: {len(leaks[0])} report(s) after the fuzz, {len(fresh)} new")
        if fresh:
            for block in leaks[1].split("unreferenced object")[1:]:
                addr = block.split()[0]
                if addr in fresh:
                    for ln in ("unreferenced object" + block).splitlines()[:14]:
                        ksft_pr(f"kmemleak: {ln}")
        ksft_true(not fresh, comment=f"{len(fresh)} new kmemleak report(s)")
        ksft_pr(f"checked in {time.monotonic() - t0:.1f} s")

    try:
        ksft_run([group(*w) for w in weights] + [no_leftovers])
    finally:
        env.close()
        print(f"# {runner.total} requests; outcomes {runner.by_outcome}; "
              f"{len(nl.stray)} stray messages; {time.monotonic() - t_start:.0f} s")
    ksft_exit()


if __name__ == "__main__":
    main()
