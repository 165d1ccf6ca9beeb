"""802.1Q VLANs on the test bed's veth ends without the 802.1Q module.

This kernel has CONFIG_VLAN_8021Q unset, so `ip link add ... type vlan`
fails. `VlanTagger` does what a VLAN sub-interface would with two tc
programs on the veth end: egress pushes the tag, ingress pops it and drops
every frame not tagged with the VLAN's id; on the wire it is the same. The
programs are assembled here and loaded with bpf(2) through ctypes, so no
compiler, libbpf or bpffs is needed. Python standard library only; used by
dtlsgw_testbed.Topology (outside_vlan, inside_vlan).
"""
import ctypes
import os
import platform
import socket
import struct

_libc = ctypes.CDLL(None, use_errno=True)


class VlanError(RuntimeError):
    pass


# Frames sent with this SO_MARK leave the tagger untouched (raw frames that
# carry a tag of their own, or none: the wrong-VLAN tests).
VLAN_BYPASS_MARK = 0x7A6C

_SYS_BPF = {"x86_64": 321, "aarch64": 280}
_BPF_PROG_LOAD = 5
_BPF_LINK_CREATE = 28
_BPF_PROG_TYPE_SCHED_CLS = 3
_BPF_TCX_INGRESS = 46  # enum bpf_attach_type (Linux 6.6+)
_BPF_TCX_EGRESS = 47
_BPF_FUNC_SKB_VLAN_PUSH = 18
_BPF_FUNC_SKB_VLAN_POP = 19
_SKB_MARK = 8       # offsetof(struct __sk_buff, mark)
_SKB_VLAN_TCI = 24  # offsetof(struct __sk_buff, vlan_tci)
_TC_ACT_OK = 0
_TC_ACT_SHOT = 2


def _bpf_insn(code, dst=0, src=0, off=0, imm=0):
    return struct.pack("<BBhi", code, dst | (src << 4), off, imm)


def _vlan_egress_program(vid):
    """Pushes an 802.1Q tag with `vid` on every frame but those marked
    VLAN_BYPASS_MARK; a frame that cannot be tagged is dropped."""
    i = _bpf_insn
    return b"".join([
        i(0xBF, dst=6, src=1),                              # r6 = ctx
        i(0x61, dst=2, src=6, off=_SKB_MARK),               # r2 = skb->mark
        i(0x15, dst=2, off=5, imm=VLAN_BYPASS_MARK),        # if r2 == mark goto ok
        i(0xBF, dst=1, src=6),                              # r1 = ctx
        i(0xB7, dst=2, imm=socket.htons(0x8100)),           # r2 = htons(ETH_P_8021Q)
        i(0xB7, dst=3, imm=vid),                            # r3 = tci
        i(0x85, imm=_BPF_FUNC_SKB_VLAN_PUSH),
        i(0x55, dst=0, off=2, imm=0),                       # if r0 != 0 goto shot
        i(0xB7, dst=0, imm=_TC_ACT_OK),                     # ok:
        i(0x95),
        i(0xB7, dst=0, imm=_TC_ACT_SHOT),                   # shot:
        i(0x95),
    ])


def _vlan_ingress_program(vid):
    """Pops the tag of frames tagged `vid`; drops every other frame, tagged or
    not (a VLAN sub-interface would not see them; its parent has no address)."""
    i = _bpf_insn
    return b"".join([
        i(0xBF, dst=6, src=1),                              # r6 = ctx
        i(0x61, dst=2, src=6, off=_SKB_VLAN_TCI),           # r2 = skb->vlan_tci (0: none)
        i(0x57, dst=2, imm=0x0FFF),                         # r2 &= VID mask
        i(0x55, dst=2, off=4, imm=vid),                     # if r2 != vid goto shot
        i(0xBF, dst=1, src=6),
        i(0x85, imm=_BPF_FUNC_SKB_VLAN_POP),
        i(0xB7, dst=0, imm=_TC_ACT_OK),
        i(0x95),
        i(0xB7, dst=0, imm=_TC_ACT_SHOT),                   # shot:
        i(0x95),
    ])


def _bpf(cmd, attr):
    nr = _SYS_BPF.get(platform.machine())
    if nr is None:
        raise VlanError(f"bpf(2): syscall number for {platform.machine()} unknown")
    buf = ctypes.create_string_buffer(attr, 128)
    syscall = _libc.syscall
    syscall.restype = ctypes.c_long
    fd = syscall(ctypes.c_long(nr), ctypes.c_long(cmd), buf, ctypes.c_uint(128))
    if fd < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return fd


def _bpf_load(name, insns):
    license_ = ctypes.create_string_buffer(b"GPL")
    code = ctypes.create_string_buffer(insns, len(insns))
    log = ctypes.create_string_buffer(4096)
    attr = struct.pack("<IIQQIIQII16s", _BPF_PROG_TYPE_SCHED_CLS, len(insns) // 8,
                       ctypes.addressof(code), ctypes.addressof(license_),
                       1, len(log), ctypes.addressof(log), 0, 0, name.encode()[:15])
    try:
        return _bpf(_BPF_PROG_LOAD, attr)
    except OSError as e:
        raise VlanError(f"bpf(BPF_PROG_LOAD {name}): {e}\n{log.value.decode(errors='replace')}")


class VlanTagger:
    """What a VLAN sub-interface does, on a veth end inside a namespace: every
    frame it sends leaves tagged `vid`, only frames tagged `vid` are taken
    (untagged). Two tc programs on the device (tcx links, Linux 6.6+), made
    with bpf(2) directly: no 802.1Q module, compiler or bpffs needed. The
    links are held by file descriptors here and go with the device (the
    namespace) or `down()`; a killed run leaves nothing attached.

    `ifname` is looked up in the calling thread's network namespace
    (dtlsgw_testbed.in_netns runs this in the veth end's)."""

    def __init__(self, ifname, vid):
        if not 1 <= vid <= 4094:
            raise VlanError(f"VLAN id {vid} out of range 1..4094")
        self.ifname, self.vid = ifname, vid
        self._links = self._attach()

    def _attach(self):
        ifindex = socket.if_nametoindex(self.ifname)
        links = []
        try:
            for name, insns, where in (("vlan_push", _vlan_egress_program(self.vid),
                                        _BPF_TCX_EGRESS),
                                       ("vlan_pop", _vlan_ingress_program(self.vid),
                                        _BPF_TCX_INGRESS)):
                prog = _bpf_load(name, insns)
                try:
                    links.append(_bpf(_BPF_LINK_CREATE,
                                      struct.pack("<IIII", prog, ifindex, where, 0)))
                except OSError as e:
                    raise VlanError(f"bpf(BPF_LINK_CREATE tcx {name} on {self.ifname}): "
                                    f"{e} (tcx needs Linux 6.6+)")
                finally:
                    os.close(prog)  # the link holds the program
        except BaseException:
            for fd in links:
                os.close(fd)
            raise
        return links

    def down(self):
        for fd in self._links:
            os.close(fd)
        self._links = []
