#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Bindings of the devmem family: bind-rx, unbind, the binding-get dump,
the `bindings` multicast group, and who owns a binding.

Over an emulated port pair (A sends in its namespace dmfa-a, B receives in
dmfa-b with header split, RSS on queue 0 and ntuple rules steering port
5501 to queue 1 and 5502 to queue 2), dma-bufs (udmabuf) are bound through
the devmem family only (never the netdev family). Listeners subscribed to
`bindings` in dmfa-b, dmfa-a and the initial namespace see what is sent
where.

- bind_and_receive: a socket in B binds 16 MiB to queue 1; bind-ntf (id,
  ifindex, the binder's port id); binding-get (owner-portid, queues
  [{id: 1}], size, mapped); B's dump lists it; a tcp_pattern.py stream from
  A is received with MSG_SOCK_DEVMEM (devmem_sockopt.py's Stream: frags,
  every SCM_DEVMEM_DMABUF of this binding, bytes checked, tokens given back
  with SO_DEVMEM_DONTNEED).
- unbind_by_owner: its socket unbinds it: unbind-ntf reason user; nothing
  reports it any more (queue-get, page-pool-get, binding-get, the dump);
  unbinding it again: ENOENT.
- socket_closed: a socket binds and is closed: unbind-ntf socket-closed,
  the binding goes.
- killed_owner: a process binding through the family (queue 2) is killed
  (SIGKILL): unbind-ntf socket-closed, the binding goes; a new bind on
  queue 2 works.
- other_socket: another socket of B unbinding it: EPERM, the binding stays
  (its dump lists it, with the owner's port id), no notification; the
  owner unbinds it.
- other_netns: a binding of B is not in the dumps of A and of the initial
  namespace, their unbind gets ENOENT, their listeners hear nothing.
- device_gone: a port of a new pair (gve-emu pair-new), moved to B, bound;
  the pair deleted: unbind-ntf device-gone (in B), the binding goes, its
  socket then knows it no more (ENOENT), closing it sends nothing.
- bad_requests: each bad bind-rx / unbind gets the netdev family's errno
  (and an extack where the handler or the policy sets one); nothing is
  left bound, no bind-ntf but for the one good bind.

With the C core (caps-get implementation c) bind-rx and unbind answer
EOPNOTSUPP (one case); the others are skipped.

Needs KSRC, and DEVMEM_CACHE for ethtool >= 6.7 (tcp-data-split).
"""

import copy
import functools
import mmap
import os
import select
import socket
import struct
import subprocess
import sys
import tempfile
import time

from devmem_rs import (HERE, KsftSkipEx, LazyEnv, NlError, YnlFamily, ethtool,
                       flush_deferred_frees, ksft_eq, ksft_exit, ksft_in, ksft_run, ksft_true,
                       port_netdev, sh, skip_without_ports, spec, split_pair, timed, udmabuf,
                       unsplit_pair)
from ynl.lib.ynl import Netlink  # pylint: disable=wrong-import-order
from devmem_sockopt import SCM_DEVMEM_DMABUF, Stream, netns
from devmem_teardown import binding_known, configure_b, ifindex, nsexec, sender

NSA, NSB = "dmfa-a", "dmfa-b"
IPA, IPB = "198.18.10.1", "198.18.10.2"
QUEUE, PORT = 1, 5501            # bind_and_receive's stream
QUEUE2, PORT2 = 2, 5502          # killed_owner's queue (steered, not streamed)
DMABUF = 16 << 20                # the binding that receives
SMALL = 4 << 20                  # bindings that only bind
STREAM = 1 << 20
NTF_WAIT = 10                    # s; notifications are sent synchronously
GONE_WAIT = 30                   # s; a binding goes once its page pools drain
PAGE = os.sysconf("SC_PAGE_SIZE")
EPERM, ENOENT, EBADF, EEXIST, ENODEV, EINVAL, ERANGE = 1, 2, 9, 17, 19, 22, 34
ENODATA, EOPNOTSUPP = 61, 95


def nl_errno(fn, *args, **kw):
    """Runs a ynl request: (0, reply) or (errno, extack dict or None)."""
    try:
        return 0, fn(*args, **kw)
    except NlError as e:
        return -e.nl_msg.error, e.nl_msg.extack


PROTOS = {}


def family(name):
    """A YnlFamily of spec NAME with a netlink socket of its own, made in
    the current network namespace. Parsing and validating a spec takes
    seconds under TCG: each spec is parsed once, later families share it
    (ynl keeps no per-socket state but the socket and the queue of
    notifications)."""
    proto = PROTOS.get(name)
    if proto is None:
        proto = PROTOS[name] = YnlFamily(spec(name))
        proto.sock.close()  # never bound: a template only
    try:
        fam = copy.copy(proto)
        fam.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, proto.nlproto.proto_num)
        for opt in (Netlink.NETLINK_CAP_ACK, Netlink.NETLINK_EXT_ACK,
                    Netlink.NETLINK_GET_STRICT_CHK):
            fam.sock.setsockopt(Netlink.SOL_NETLINK, opt, 1)
        fam.async_msg_queue = []
        for op_name, op in fam.ops.items():
            setattr(fam, op.ident_name, functools.partial(fam._op, op_name))
        return fam
    except AttributeError:  # another ynl: the slow way
        return YnlFamily(spec(name))


def portid(fam):
    return fam.sock.getsockname()[0]


class Listener:
    """A devmem socket of the namespace it was made in, subscribed to
    `bindings`; keeps what it heard until a case takes it."""

    def __init__(self):
        self.fam = family("devmem")
        self.fam.ntf_subscribe("bindings")
        self.heard = []

    def poll(self):
        self.fam.check_ntf()
        while self.fam.async_msg_queue:
            m = self.fam.async_msg_queue.pop(0)
            self.heard.append((m["name"], m["msg"]))

    def wait(self, name, ident, timeout=NTF_WAIT):
        """The first NAME notification about binding IDENT (taken), or
        None after TIMEOUT s."""
        end = time.monotonic() + timeout
        while True:
            self.poll()
            for i, (n, msg) in enumerate(self.heard):
                if n == name and msg.get("id") == ident:
                    del self.heard[i]
                    return msg
            left = end - time.monotonic()
            if left <= 0:
                return None
            select.select([self.fam.sock], [], [], min(left, 0.5))

    def about(self, ident, settle=0.3):
        """Everything still heard about binding IDENT (taken)."""
        time.sleep(settle)
        self.poll()
        mine = [(n, m) for n, m in self.heard if m.get("id") == ident]
        self.heard = [(n, m) for n, m in self.heard if m.get("id") != ident]
        return mine

    def close(self):
        self.fam.sock.close()


class Env(LazyEnv):
    """Pair 0 split into NSA/NSB and configured, with listeners and
    observers; set up by the first case that needs it (a failure fails
    that case and every later one), undone by close()."""

    def __init__(self):
        super().__init__()
        self.a = self.b = None
        self.socks = []     # netlink and TCP sockets (closed before the netns go)
        self.procs = []
        self.state = {}     # what a case leaves to the next

    def setup(self):
        t0 = time.monotonic()
        self.a, self.b = split_pair(NSA, NSB, IPA, IPB)
        configure_b(NSB, self.b, ports={QUEUE: PORT, QUEUE2: PORT2}, addr=IPB)
        self.ifindex = ifindex(NSB, self.b)
        self.ifindex_a = ifindex(NSA, self.a)
        with netns(NSB):
            self.nl = self.keep(family("netdev"))
            self.lsn = self.keep(Listener())
            self.obs = self.keep(family("devmem"))  # dumps of B
        with netns(NSA):
            self.lsn_a = self.keep(Listener())
            self.obs_a = self.keep(family("devmem"))
        self.lsn_init = self.keep(Listener())
        self.obs_init = self.keep(family("devmem"))
        print(f"# set up in {time.monotonic() - t0:.1f} s")

    def keep(self, obj):
        self.socks.append(obj)
        return obj

    def devmem(self, ns=NSB):
        """A new devmem socket of namespace NS, bound (its port id known)."""
        with netns(ns):
            fam = self.keep(family("devmem"))
        fam.sock.bind((0, 0))
        return fam

    def bind(self, fam, queues=(QUEUE,), size=SMALL, ifidx=None, fd=None):
        """bind-rx of a new udmabuf of SIZE (or FD) through FAM; the id."""
        own = fd is None
        if own:
            fd = udmabuf(size)
        try:
            rsp = fam.bind_rx({"ifindex": self.ifindex if ifidx is None else ifidx, "fd": fd,
                               "queues": [{"id": q} for q in queues]})
            return rsp["id"]
        finally:
            if own:
                os.close(fd)

    def dump_ids(self, obs=None):
        return {e["id"]: e for e in (obs or self.obs).binding_get({}, dump=True)}

    def known(self, ident):
        """Whether the Rust core still has binding IDENT (binding-get, as
        devmem_teardown.binding_known asks, on a socket kept open: a new
        YnlFamily parses its spec, seconds under TCG). Asked from B, the
        namespace of every binding here."""
        err, _ = nl_errno(self.obs.binding_get, {"id": ident})
        if err not in (0, ENOENT):
            raise OSError(err, f"binding-get {ident}")
        return err == 0

    def reporting(self, ident):
        """Queues of B and page pools of NSB that report binding IDENT."""
        queues = self.nl.queue_get({"ifindex": self.ifindex}, dump=True)
        pools = self.nl.page_pool_get({}, dump=True)
        return [x for x in queues + pools if x.get("dmabuf") == ident]

    def wait_gone(self, ident, timeout=GONE_WAIT, queues=True):
        """Waits until nothing reports binding IDENT (queue-get of B,
        page-pool-get of NSB, binding-get, the dump of NSB); returns what
        is left, or None."""
        end = time.monotonic() + timeout
        while True:
            left = []
            if queues:
                left += self.reporting(ident)
            else:
                left += [p for p in self.nl.page_pool_get({}, dump=True)
                         if p.get("dmabuf") == ident]
            if ident in self.dump_ids():
                left.append("listed by the dump of its namespace")
            if self.known(ident):
                left.append("binding-get still knows it")
            if not left:
                return None
            if time.monotonic() > end:
                return f"binding {ident}: {left}"
            flush_deferred_frees()
            time.sleep(0.5)

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        for s in self.state.pop("main", {}).get("close", []):
            s()
        for obj in self.socks:
            sock = getattr(obj, "sock", None) or getattr(getattr(obj, "fam", None), "sock", obj)
            try:
                sock.close()
            except Exception:  # pylint: disable=broad-except
                pass
        self.socks = []
        return unsplit_pair(NSA, NSB, self.b)


ENV = Env()


class Bound:
    """What devmem_sockopt.py's Stream needs of its binding: the dma-buf
    (fd, mapping), the binding id, the listening socket."""

    def __init__(self, fd, mm, ident, srv):
        self.fd, self.mm, self.id, self.srv = fd, mm, ident, srv


class FamStream(Stream):
    """devmem_sockopt.py's Stream (recvmsg parsing and checks, tokens given
    back) on our ports and namespaces; also collects the dmabuf_id of
    every SCM_DEVMEM_DMABUF cmsg."""

    def __init__(self, bound, nbytes):  # pylint: disable=super-init-not-called
        self.main = bound
        self.proc = sender(QUEUE, nbytes, ns=NSA, addr=IPB, port=PORT)
        ENV.procs.append(self.proc)
        self.sock, _ = bound.srv.accept()
        self.sock.settimeout(60)
        self.got = self.frags = self.linear = self.readable = 0
        self.held = []
        self.problems = []
        self.ids = set()
        self.dmabuf_cmsgs = 0

    def account(self, buf, n, anc, mflags):
        for level, ctype, data in anc:
            if level == socket.SOL_SOCKET and ctype == SCM_DEVMEM_DMABUF and len(data) >= 20:
                self.ids.add(struct.unpack_from("I", data, 16)[0])
                self.dmabuf_cmsgs += 1
        return super().account(buf, n, anc, mflags)


def rust_core():
    if IMPL != "rust":
        raise KsftSkipEx(f"the {IMPL} core serves bindings (only the Rust core's "
                         "devmem family binds)")
    return ENV.get()


def bind_and_receive():
    """A binding of the family in B: bind-ntf, binding-get, the dump; a
    devmem stream lands in it."""
    env = rust_core()
    fam = env.devmem()
    me = portid(fam)
    with netns(NSB):
        srv = env.keep(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((IPB, PORT))
    srv.listen(2)
    srv.settimeout(60)
    fd = udmabuf(DMABUF)
    mm = mmap.mmap(fd, DMABUF, mmap.MAP_SHARED, mmap.PROT_READ)

    def release():
        mm.close()
        os.close(fd)
    main = {"fam": fam, "portid": me, "close": [release]}
    env.state["main"] = main
    t0 = time.monotonic()
    ident = env.bind(fam, (QUEUE,), fd=fd)
    main["id"] = ident
    print(f"# bound {DMABUF >> 20} MiB to queue {QUEUE} of ifindex {env.ifindex}: binding "
          f"{ident}, owner port id {me} ({time.monotonic() - t0:.1f} s)")
    ksft_eq(env.lsn.wait("bind-ntf", ident),
            {"id": ident, "ifindex": env.ifindex, "owner-portid": me}, comment="bind-ntf")
    info = fam.binding_get({"id": ident})
    print(f"# binding-get: {info}")
    ksft_eq(info.get("owner-portid"), me, comment="binding-get owner-portid")
    ksft_eq(info.get("queues"), [{"id": QUEUE}], comment="binding-get queues")
    ksft_eq(info.get("ifindex"), env.ifindex, comment="binding-get ifindex")
    ksft_eq((info.get("dmabuf-size"), info.get("niovs"), info.get("mapped")),
            (DMABUF, DMABUF // PAGE, 1), comment="binding-get size, niovs, mapped")
    dump = env.dump_ids()
    ksft_in(ident, dump, comment="the dump of its namespace lists it")
    if ident in dump:
        ksft_eq(dump[ident].get("owner-portid"), me, comment="dump owner-portid")
        ksft_eq(dump[ident].get("queues"), [{"id": QUEUE}], comment="dump queues")
    ksft_eq([q["id"] for q in env.nl.queue_get({"ifindex": env.ifindex}, dump=True)
             if q.get("dmabuf") == ident], [QUEUE], comment="queue-get: the bound queue")
    s = FamStream(Bound(fd, mm, ident, srv), STREAM)
    try:
        t0 = time.monotonic()
        s.read(STREAM)
        print(f"# {s.got} bytes in {time.monotonic() - t0:.1f} s: {s.frags} frags "
              f"({s.dmabuf_cmsgs} SCM_DEVMEM_DMABUF), {s.linear} linear, {s.readable} readable; "
              f"dmabuf ids {sorted(s.ids)}")
        ksft_eq(s.problems, [], comment="cmsg layout and bytes")
        ksft_true(s.frags > 0, comment="frags")
        ksft_eq(s.ids, {ident}, comment="every SCM_DEVMEM_DMABUF is of this binding")
        ksft_eq(s.readable, 0, comment="no readable skb (queue 1 is bound)")
        ksft_eq(s.held, [], comment="every token given back")
        ksft_eq(s.proc.wait(timeout=60), 0, comment="sender")
    finally:
        s.close()


def unbind_by_owner():
    """The owner unbinds: unbind-ntf reason user; nothing reports the
    binding; a second unbind: ENOENT."""
    env = rust_core()
    main = env.state.get("main")
    if not main or "id" not in main:
        raise AssertionError("no binding from bind_and_receive")
    fam, ident, me = main["fam"], main["id"], main["portid"]
    ksft_eq(nl_errno(fam.unbind, {"id": ident}), (0, None), comment="unbind")
    ksft_eq(env.lsn.wait("unbind-ntf", ident),
            {"id": ident, "ifindex": env.ifindex, "owner-portid": me, "reason": "user"},
            comment="unbind-ntf")
    t0 = time.monotonic()
    ksft_eq(env.wait_gone(ident), None)
    print(f"# binding {ident} gone {time.monotonic() - t0:.1f} s after the unbind")
    ksft_true(not binding_known(ident), comment="devmem_teardown.binding_known")
    err, ext = nl_errno(fam.unbind, {"id": ident})
    ksft_eq(err, ENOENT, comment=f"unbind again ({ext})")
    ksft_eq(env.lsn.about(ident), [], comment="nothing more heard")
    for c in env.state.pop("main")["close"]:
        c()


def socket_closed():
    """The owning socket closed: unbind-ntf socket-closed; the binding
    goes."""
    env = rust_core()
    fam = env.devmem()
    me = portid(fam)
    ident = env.bind(fam)
    ksft_eq(env.lsn.wait("bind-ntf", ident),
            {"id": ident, "ifindex": env.ifindex, "owner-portid": me}, comment="bind-ntf")
    ksft_true(env.known(ident), comment="bound")
    fam.sock.close()
    ksft_eq(env.lsn.wait("unbind-ntf", ident),
            {"id": ident, "ifindex": env.ifindex, "owner-portid": me,
             "reason": "socket-closed"}, comment="unbind-ntf")
    ksft_eq(env.wait_gone(ident), None)
    ksft_eq(env.lsn.about(ident), [], comment="nothing more heard")


CHILD = """
import sys, time
sys.path.insert(0, {here!r})
from devmem_rs import YnlFamily, spec, udmabuf
fd = udmabuf({size})
nl = YnlFamily(spec("devmem"))
ifindex = int(open("/sys/class/net/{ifname}/ifindex").read())
rsp = nl.bind_rx({{"ifindex": ifindex, "fd": fd, "queues": [{{"id": {queue}}}]}})
print(rsp["id"], nl.sock.getsockname()[0], flush=True)
time.sleep(3600)
"""


def killed_owner():
    """A process owning a binding (queue 2) is killed: unbind-ntf
    socket-closed, the binding goes; queue 2 binds again."""
    env = rust_core()
    code = CHILD.format(here=HERE, size=SMALL, ifname=env.b, queue=QUEUE2)
    t0 = time.monotonic()
    p = subprocess.Popen(["ip", "netns", "exec", NSB, sys.executable, "-c", code],
                         stdout=subprocess.PIPE, text=True)
    env.procs.append(p)
    try:
        if not select.select([p.stdout], [], [], 300)[0]:
            raise AssertionError("the child did not bind in 300 s")
        line = p.stdout.readline().split()
        if len(line) != 2:
            raise AssertionError(f"the child: {line} (exit {p.poll()})")
        ident, pid = map(int, line)
        print(f"# child {p.pid} bound queue {QUEUE2}: binding {ident}, port id {pid} "
              f"({time.monotonic() - t0:.1f} s)")
        ksft_eq(env.lsn.wait("bind-ntf", ident),
                {"id": ident, "ifindex": env.ifindex, "owner-portid": pid}, comment="bind-ntf")
        info = env.obs.binding_get({"id": ident})
        ksft_eq((info.get("owner-portid"), info.get("queues")), (pid, [{"id": QUEUE2}]),
                comment="binding-get")
    finally:
        p.kill()
        p.wait()
    ksft_eq(env.lsn.wait("unbind-ntf", ident, timeout=60),
            {"id": ident, "ifindex": env.ifindex, "owner-portid": pid,
             "reason": "socket-closed"}, comment="unbind-ntf after SIGKILL")
    t0 = time.monotonic()
    ksft_eq(env.wait_gone(ident), None)
    print(f"# binding {ident} gone {time.monotonic() - t0:.1f} s after the kill")
    fam = env.devmem()
    err, id2 = nl_errno(env.bind, fam, (QUEUE2,))
    ksft_eq(err, 0, comment=f"bind queue {QUEUE2} again ({id2})")
    if err:
        return
    ksft_true(id2 != ident, comment=f"new id {id2}")
    ksft_true(env.lsn.wait("bind-ntf", id2) is not None, comment="bind-ntf of the new binding")
    ksft_eq([q["id"] for q in env.nl.queue_get({"ifindex": env.ifindex}, dump=True)
             if q.get("dmabuf") == id2], [QUEUE2], comment="queue-get: rebound")
    ksft_eq(nl_errno(fam.unbind, {"id": id2}), (0, None), comment="unbind the new binding")
    ksft_eq((env.lsn.wait("unbind-ntf", id2) or {}).get("reason"), "user")
    ksft_eq(env.wait_gone(id2), None)


def other_socket():
    """Another socket of the namespace: unbind gets EPERM, the binding
    stays; its dump lists it with the owner's port id."""
    env = rust_core()
    a, b = env.devmem(), env.devmem()
    pa = portid(a)
    ident = env.bind(a)
    ksft_true(env.lsn.wait("bind-ntf", ident) is not None, comment="bind-ntf")
    err, ext = nl_errno(b.unbind, {"id": ident})
    print(f"# unbind by port id {portid(b)} of a binding of {pa}: errno {err}, extack {ext}")
    ksft_eq(err, EPERM, comment="unbind by another socket")
    ksft_true(ext and ext.get("msg"), comment="extack message")
    ksft_eq(env.lsn.about(ident), [], comment="no notification")
    ksft_true(env.known(ident), comment="the binding stays")
    ksft_eq([q["id"] for q in env.nl.queue_get({"ifindex": env.ifindex}, dump=True)
             if q.get("dmabuf") == ident], [QUEUE], comment="still on its queue")
    dump = env.dump_ids(b)
    ksft_in(ident, dump, comment="the other socket's dump lists it")
    ksft_eq(dump.get(ident, {}).get("owner-portid"), pa, comment="with the owner's port id")
    ksft_eq(nl_errno(a.unbind, {"id": ident}), (0, None), comment="the owner unbinds")
    ksft_eq(env.lsn.wait("unbind-ntf", ident),
            {"id": ident, "ifindex": env.ifindex, "owner-portid": pa, "reason": "user"},
            comment="unbind-ntf")
    ksft_eq(env.wait_gone(ident), None)
    a.sock.close()
    b.sock.close()
    ksft_eq(env.lsn.about(ident), [], comment="closing the sockets sends nothing")


def other_netns():
    """A binding of B seen from A and from the initial namespace: not in
    their dumps, their unbind gets ENOENT, their listeners hear nothing."""
    env = rust_core()
    fam = env.devmem()
    ident = env.bind(fam)
    ksft_true(env.lsn.wait("bind-ntf", ident) is not None, comment="bind-ntf in B")
    for where, obs in (("A", env.obs_a), ("init", env.obs_init)):
        ksft_true(ident not in env.dump_ids(obs), comment=f"not in the dump of {where}")
    for where, ns in (("A", NSA), ("init", None)):
        if ns:
            other = env.devmem(ns)
        else:
            other = env.keep(family("devmem"))
        err, ext = nl_errno(other.unbind, {"id": ident})
        print(f"# unbind from {where}: errno {err}, extack {ext}")
        ksft_eq(err, ENOENT, comment=f"unbind from {where}")
        other.sock.close()
    ksft_true(env.known(ident), comment="the binding stays")
    ksft_in(ident, env.dump_ids(), comment="B's dump still lists it")
    ksft_eq(nl_errno(fam.unbind, {"id": ident}), (0, None), comment="the owner unbinds")
    ksft_eq((env.lsn.wait("unbind-ntf", ident) or {}).get("reason"), "user",
            comment="unbind-ntf in B")
    ksft_eq(env.wait_gone(ident), None)
    ksft_eq(env.lsn_a.about(ident, settle=0), [], comment="A's listener heard nothing")
    ksft_eq(env.lsn_init.about(ident, settle=0), [],
            comment="the initial namespace's listener heard nothing")
    fam.sock.close()


def device_gone():
    """A port of a new pair, in B, bound; the pair deleted: unbind-ntf
    device-gone, the binding goes."""
    env = rust_core()
    emu = family("gve_emu")
    pair = emu.pair_new({})["id"]
    pa, pb = 2 * pair, 2 * pair + 1
    gone = False
    try:
        end = time.monotonic() + 20
        while not port_netdev(pb) and time.monotonic() < end:
            time.sleep(0.2)
        name = port_netdev(pb)
        ksft_true(name, comment=f"pair {pair}: port {pb} has a netdev")
        if not name:
            return
        # With pair 0's ports away, the new ports took their names: B
        # has one already.
        dev = "dmfa-gone"
        sh(f"ip link set {name} name {dev} && ip link set {dev} netns {NSB} && "
           f"ip -n {NSB} link set {dev} up")
        nsexec(NSB, ethtool(), "-G", dev, "tcp-data-split", "on", check=True,
               capture_output=True)
        ifx = ifindex(NSB, dev)
        fam = env.devmem()
        me = portid(fam)
        ident = env.bind(fam, (QUEUE,), ifidx=ifx)
        print(f"# pair {pair}: {dev} (ifindex {ifx}) in {NSB}, queue {QUEUE} bound: "
              f"binding {ident}")
        ksft_eq(env.lsn.wait("bind-ntf", ident),
                {"id": ident, "ifindex": ifx, "owner-portid": me}, comment="bind-ntf")
        info = fam.binding_get({"id": ident})
        ksft_eq((info.get("ifindex"), info.get("mapped"), info.get("queues")),
                (ifx, 1, [{"id": QUEUE}]), comment="binding-get")
        t0 = time.monotonic()
        emu.pair_del({"id": pair})
        gone = True
        print(f"# pair {pair} deleted in {time.monotonic() - t0:.1f} s")
        ksft_true(not os.path.exists(f"/sys/bus/platform/devices/gve-rs-emu.{pb}"),
                  comment="port gone")
        ksft_eq(env.lsn.wait("unbind-ntf", ident),
                {"id": ident, "ifindex": ifx, "owner-portid": me, "reason": "device-gone"},
                comment="unbind-ntf")
        ksft_eq(env.wait_gone(ident, queues=False), None)
        err, ext = nl_errno(fam.unbind, {"id": ident})
        ksft_eq(err, ENOENT, comment=f"its socket unbinding it after ({ext})")
        fam.sock.close()
        ksft_eq(env.lsn.about(ident), [], comment="closing its socket sends nothing")
        ksft_eq(env.lsn_a.about(ident, settle=0) + env.lsn_init.about(ident, settle=0), [],
                comment="other namespaces heard nothing")
    finally:
        if not gone and os.path.exists(f"/sys/bus/platform/devices/gve-rs-emu.{pa}"):
            emu.pair_del({"id": pair})
        emu.sock.close()


NO_CAP = """
import sys
sys.path.insert(0, {here!r})
from devmem_rs import NlError, YnlFamily, spec
nl = YnlFamily(spec("devmem"))
for op, req in ((nl.bind_rx, {req!r}), (nl.unbind, {{"id": 1}})):
    try:
        op(req)
        print(0)
    except NlError as e:
        print(-e.nl_msg.error)
"""


def bad_requests():
    """Each bad bind-rx / unbind: its errno (and extack); nothing left
    bound; no bind-ntf but the good bind's."""
    env = rust_core()
    fam = env.devmem()
    fd = udmabuf(SMALL)
    good = None

    def req(**kw):
        r = {"ifindex": env.ifindex, "fd": fd, "queues": [{"id": QUEUE}]}
        for k, v in kw.items():
            if v is None:
                r.pop(k)
            else:
                r[k] = v
        return r

    def bind(**kw):
        err, rsp = nl_errno(fam.bind_rx, req(**kw))
        if not err:  # bound after all: not left behind
            nl_errno(fam.unbind, {"id": rsp["id"]})
            return 0, f"bound: binding {rsp['id']}"
        return err, rsp

    def not_dmabuf():
        with tempfile.TemporaryFile() as f:
            return bind(fd=f.fileno())

    def hsplit_off():
        nsexec(NSB, ethtool(), "-G", env.b, "tcp-data-split", "off", check=True,
               capture_output=True)
        try:
            return bind()
        finally:
            nsexec(NSB, ethtool(), "-G", env.b, "tcp-data-split", "on", check=True,
                   capture_output=True)

    def unbind(**kw):
        return nl_errno(fam.unbind, kw)

    def no_cap():
        code = NO_CAP.format(here=HERE, req=req())
        out = subprocess.run(["ip", "netns", "exec", NSB, "setpriv", "--bounding-set=-net_admin",
                              "--inh-caps=-net_admin", sys.executable, "-c", code],
                             capture_output=True, text=True, pass_fds=(fd,), timeout=300)
        got = [int(x) for x in out.stdout.split()]
        return (got, None) if out.returncode == 0 else (f"exit {out.returncode}", out.stderr)

    ifx_a = env.ifindex_a
    if ifx_a in (1, env.ifindex):
        ifx_a = 0x7ffffff0
    # (name, errno, extack expected, request)
    table = [
        ("bind-rx: ifindex missing", EINVAL, True, lambda: bind(ifindex=None)),
        ("bind-rx: fd missing", EINVAL, True, lambda: bind(fd=None)),
        ("bind-rx: queues missing", EINVAL, True, lambda: bind(queues=None)),
        ("bind-rx: ifindex 0 (policy)", ERANGE, True, lambda: bind(ifindex=0)),
        ("bind-rx: ifindex of A's port (another netns)", ENODEV, True,
         lambda: bind(ifindex=ifx_a)),
        ("bind-rx: no such ifindex", ENODEV, True, lambda: bind(ifindex=0x7ffffff0)),
        ("bind-rx: fd not open", EBADF, False, lambda: bind(fd=1 << 20)),
        ("bind-rx: fd above INT_MAX", EBADF, False, lambda: bind(fd=0x80000001)),
        ("bind-rx: fd not a dma-buf", EINVAL, False, not_dmabuf),
        ("bind-rx: queue nest without id", EINVAL, True, lambda: bind(queues=[{}])),
        ("bind-rx: queue 4 of 4", ERANGE, True, lambda: bind(queues=[{"id": 4}])),
        ("bind-rx: queue 7 of 4", ERANGE, True, lambda: bind(queues=[{"id": 7}])),
        ("bind-rx: a queue listed twice", EEXIST, True,
         lambda: bind(queues=[{"id": QUEUE}, {"id": QUEUE}])),
        ("bind-rx: header split off", ENODATA, False, hsplit_off),
        ("unbind: id missing", EINVAL, True, lambda: unbind()),
        ("unbind: id 0 (policy)", ERANGE, True, lambda: unbind(id=0)),
        ("unbind: no such id", ENOENT, True, lambda: unbind(id=0x7fffffff)),
    ]
    try:
        for name, want, ext_want, fn in table:
            got, ext = fn()
            print(f"# {name}: errno {got}, extack {ext}")
            ksft_eq(got, want, comment=name)
            if ext_want and got == want:
                ksft_true(ext and (ext.get("msg") or ext.get("miss-type") is not None),
                          comment=f"{name}: extack")
        # A queue bound already (queue 1 by a good binding of this socket;
        # queue 2 listed first must not stay bound either).
        good = env.bind(fam, (QUEUE,))
        ksft_true(env.lsn.wait("bind-ntf", good) is not None, comment="bind-ntf of the good bind")
        other = env.devmem()
        for name, queues in (("queue bound by another socket", [{"id": QUEUE}]),
                             ("queue 2, then one bound already", [{"id": QUEUE2}, {"id": QUEUE}]),
                             ("queue bound by this socket", None)):
            if queues is None:
                got, ext = bind()
            else:
                got, ext = nl_errno(other.bind_rx, req(queues=queues))
                if not got:
                    nl_errno(other.unbind, {"id": ext["id"]})
            print(f"# bind-rx: {name}: errno {got}, extack {ext}")
            ksft_eq(got, EEXIST, comment=name)
            ksft_true(ext and ext.get("msg"), comment=f"{name}: extack")
        bound = {q["id"]: q.get("dmabuf") for q in
                 env.nl.queue_get({"ifindex": env.ifindex}, dump=True) if q.get("dmabuf")}
        ksft_eq(bound, {QUEUE: good}, comment="only the good binding is on a queue")
        ksft_eq(sorted(env.dump_ids()), [good], comment="only the good binding is listed")
        other.sock.close()
        got, _ = no_cap()
        print(f"# without CAP_NET_ADMIN: bind-rx, unbind: {got}")
        ksft_eq(got, [EPERM, EPERM], comment="without CAP_NET_ADMIN")
        ksft_eq(nl_errno(fam.unbind, {"id": good}), (0, None), comment="unbind the good one")
        ksft_eq((env.lsn.wait("unbind-ntf", good) or {}).get("reason"), "user")
        ksft_eq(env.wait_gone(good), None)
        good = None
    finally:
        if good:
            nl_errno(fam.unbind, {"id": good})
        os.close(fd)
    left = env.dump_ids()
    ksft_eq(left, {}, comment="no binding left in B")
    ksft_eq([x for x in env.nl.queue_get({"ifindex": env.ifindex}, dump=True)
             if x.get("dmabuf")], [], comment="no queue bound")
    env.lsn.poll()
    stray = [(n, m) for n, m in env.lsn.heard if n == "bind-ntf"]
    ksft_eq(stray, [], comment="no bind-ntf for a refused bind")
    env.lsn.heard = []
    fam.sock.close()


def c_core_unsupported():
    """The C core: the family's bind-rx and unbind answer EOPNOTSUPP."""
    fam = family("devmem")
    fd = udmabuf(1 << 20)
    try:
        ifx = int(open(f"/sys/class/net/{port_netdev(0)}/ifindex").read())
        err, ext = nl_errno(fam.bind_rx, {"ifindex": ifx, "fd": fd, "queues": [{"id": 1}]})
        print(f"# bind-rx: errno {err}, extack {ext}")
        ksft_eq(err, EOPNOTSUPP, comment="bind-rx")
        err, ext = nl_errno(fam.unbind, {"id": 1})
        print(f"# unbind: errno {err}, extack {ext}")
        ksft_eq(err, EOPNOTSUPP, comment="unbind")
    finally:
        os.close(fd)
        fam.sock.close()


CASES = [bind_and_receive, unbind_by_owner, socket_closed, killed_owner, other_socket,
         other_netns, device_gone, bad_requests]
IMPL = None


def main():
    global IMPL  # pylint: disable=global-statement
    skip_without_ports()
    if not ethtool() or not os.path.exists("/dev/udmabuf"):
        print("1..0 # SKIP no ethtool >= 6.7 (tcp-data-split) or no /dev/udmabuf")
        sys.exit(4)
    fam = family("devmem")
    IMPL = fam.caps_get({})["implementation"]
    fam.sock.close()
    print(f"# devmem core: {IMPL} (caps-get)")
    t0 = time.monotonic()
    try:
        ksft_run([timed(c) for c in ([c_core_unsupported] if IMPL != "rust" else []) + CASES])
    finally:
        clean = ENV.close() if ENV.done or ENV.err else True
        print(f"# {time.monotonic() - t0:.0f} s")
    if not clean:
        sys.exit(1)
    ksft_exit()


if __name__ == "__main__":
    main()
