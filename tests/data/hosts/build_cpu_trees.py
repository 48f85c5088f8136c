"""Write the recorded trees of the machines whose CPUs are laid out unlike a plain x86 server.

Each tree holds what the kernel of such a machine publishes: /proc/cpuinfo in its architecture's layout (one block
per online CPU, as the kernel prints it), the CPU topology under /sys/devices/system/cpu in the kernel's own
formats (ids, sibling masks and lists; offline CPUs have no topology folder), and the few files naming the node.
Run it from anywhere to rewrite the trees; the tests read the written files, never this script.

    python3 tests/data/hosts/build_cpu_trees.py
"""
from __future__ import annotations

import os
import shutil
import struct
from dataclasses import dataclass, field
from typing import Callable

HERE = os.path.dirname(os.path.abspath(__file__))


@dataclass(frozen=True)
class Cpu:
    number: int
    package: int
    core: int
    die: int = 0
    cluster: int | None = None
    book: int | None = None
    drawer: int | None = None
    online: bool = True


@dataclass
class Machine:
    folder: str
    hostname: str
    osrelease: str
    version: str
    os_release: str
    memtotal_kb: int
    cpus: list[Cpu]
    cpuinfo: Callable[[list[Cpu]], str]
    #: uname -m as the kernel records it in /proc/sys/kernel/arch; None leaves it out.
    arch: str | None = None
    extra: dict[str, bytes] = field(default_factory=dict)


def cpu_list(numbers: list[int]) -> str:
    out, start, prev = [], None, None
    for n in sorted(numbers) + [None]:
        if start is not None and (n is None or n != prev + 1):
            out.append(str(start) if start == prev else f"{start}-{prev}")
            start = None
        if n is not None and start is None:
            start = n
        prev = n
    return ",".join(out)


def cpu_mask(numbers: list[int], width: int) -> str:
    """The kernel's %*pb format: 32-bit hex words, highest first, the first one only as wide as needed."""
    value = sum(1 << n for n in numbers)
    digits = f"{value:0{(width + 3) // 4}x}"
    words = []
    while digits:
        words.insert(0, digits[-8:])
        digits = digits[:-8]
    return ",".join(words)


def write(root: str, path: str, data: str | bytes) -> None:
    target = os.path.join(root, path.lstrip("/"))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as handle:
        handle.write(data.encode() if isinstance(data, str) else data)


def build(machine: Machine) -> None:
    root = os.path.join(HERE, machine.folder)
    shutil.rmtree(root, ignore_errors=True)
    cpus = machine.cpus
    width = len(cpus)
    online = [c for c in cpus if c.online]
    base = "/sys/devices/system/cpu"
    write(root, f"{base}/possible", cpu_list([c.number for c in cpus]) + "\n")
    write(root, f"{base}/present", cpu_list([c.number for c in cpus]) + "\n")
    write(root, f"{base}/online", cpu_list([c.number for c in online]) + "\n")
    write(root, f"{base}/offline", cpu_list([c.number for c in cpus if not c.online]) + "\n")
    write(root, f"{base}/kernel_max", f"{max(width, 8) - 1}\n")

    def siblings(cpu: Cpu, key: Callable[[Cpu], tuple]) -> list[int]:
        return [c.number for c in online if key(c) == key(cpu)]

    levels = {
        "thread_siblings": lambda c: (c.drawer, c.book, c.package, c.die, c.cluster, c.core),
        "core_siblings": lambda c: (c.drawer, c.book, c.package),
        "die_cpus": lambda c: (c.drawer, c.book, c.package, c.die),
        "cluster_cpus": lambda c: (c.drawer, c.book, c.package, c.die, c.cluster),
        "book_siblings": lambda c: (c.drawer, c.book),
        "drawer_siblings": lambda c: (c.drawer,),
    }
    aliases = {"thread_siblings": "core_cpus", "core_siblings": "package_cpus"}
    for cpu in cpus:
        folder = f"{base}/cpu{cpu.number}"
        if cpu.number or not cpu.online:
            write(root, f"{folder}/online", "1\n" if cpu.online else "0\n")
        if not cpu.online:
            continue
        topo = f"{folder}/topology"
        write(root, f"{topo}/physical_package_id", f"{cpu.package}\n")
        write(root, f"{topo}/core_id", f"{cpu.core}\n")
        write(root, f"{topo}/die_id", f"{cpu.die}\n")
        if cpu.cluster is not None:
            write(root, f"{topo}/cluster_id", f"{cpu.cluster}\n")
        if cpu.book is not None:
            write(root, f"{topo}/book_id", f"{cpu.book}\n")
            write(root, f"{topo}/drawer_id", f"{cpu.drawer}\n")
        for name, key in levels.items():
            if name == "cluster_cpus" and cpu.cluster is None:
                continue
            if name in ("book_siblings", "drawer_siblings") and cpu.book is None:
                continue
            members = siblings(cpu, key)
            for spelled in (name, aliases.get(name)):
                if spelled:
                    write(root, f"{topo}/{spelled}", cpu_mask(members, width) + "\n")
                    write(root, f"{topo}/{spelled}_list", cpu_list(members) + "\n")
    write(root, "/proc/cpuinfo", machine.cpuinfo(online))
    write(root, "/proc/meminfo", f"MemTotal:       {machine.memtotal_kb} kB\n"
                                 f"MemFree:        {machine.memtotal_kb // 2} kB\n")
    write(root, "/proc/sys/kernel/hostname", machine.hostname + "\n")
    write(root, "/proc/sys/kernel/osrelease", machine.osrelease + "\n")
    write(root, "/proc/sys/kernel/version", machine.version + "\n")
    if machine.arch:
        write(root, "/proc/sys/kernel/arch", machine.arch + "\n")
    write(root, "/etc/os-release", machine.os_release)
    for path, data in machine.extra.items():
        write(root, path, data)


def elf_header(machine: int, wide: bool, little: bool) -> bytes:
    """The first 64 bytes of an executable: enough for anything that reads the class, byte order and machine."""
    order = "<" if little else ">"
    ident = b"\x7fELF" + bytes([2 if wide else 1, 1 if little else 2, 1, 0]) + bytes(8)
    return (ident + struct.pack(order + "HHI", 2, machine, 1)).ljust(64, b"\0")


def os_release(pretty: str, ident: str, version: str) -> str:
    return f'NAME="{pretty.split(" ")[0]}"\nPRETTY_NAME="{pretty}"\nID={ident}\nVERSION_ID="{version}"\n'


# ---- s390x: a z15 LPAR, two drawers of one book each, two sockets (chips) per book, SMT 2 ----

def s390x_cpuinfo(online: list[Cpu]) -> str:
    head = (
        "vendor_id       : IBM/S390\n"
        f"# processors    : {len(online)}\n"
        "bogomips per cpu: 3241.00\n"
        "max thread id   : 1\n"
        "features\t: esan3 zarch stfle msa ldisp eimm dfp edat etf3eh highgprs te vx vxd vxe gs vxe2 vxp sort dflt "
        "sie \n"
        "facilities      : 0 1 2 3 4 6 7 8 9 10 12 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 30 31 32 33 34 35\n"
        "cache0          : level=1 type=Data scope=Private size=128K line_size=256 associativity=8\n"
        "cache1          : level=1 type=Instruction scope=Private size=128K line_size=256 associativity=8\n"
        "cache2          : level=2 type=Data scope=Private size=4096K line_size=256 associativity=8\n"
        "cache3          : level=2 type=Instruction scope=Private size=4096K line_size=256 associativity=8\n"
        "cache4          : level=3 type=Unified scope=Shared size=262144K line_size=256 associativity=32\n"
        "cache5          : level=4 type=Unified scope=Shared size=983040K line_size=256 associativity=60\n"
    )
    head += "".join(f"processor {c.number}: version = 00,  identification = 1B7E38,  machine = 8561\n"
                    for c in online)
    blocks = [
        f"cpu number      : {c.number}\nphysical id     : {c.package}\ncore id         : {c.core}\n"
        f"book id         : {c.book}\ndrawer id       : {c.drawer}\ndedicated       : 1\naddress         : {c.number}\n"
        f"siblings        : 4\ncpu cores       : 2\nversion         : 00\nidentification  : 1B7E38\n"
        f"machine         : 8561\ncpu MHz dynamic : 5200\ncpu MHz static  : 5200\n"
        for c in online
    ]
    return head + "\n" + "\n".join(blocks)


def s390x_cpus() -> list[Cpu]:
    cpus, n, core = [], 0, 0
    for drawer in (1, 2):
        for package in (1, 2):  # chip numbers restart in every book
            for _ in range(2):
                for _ in range(2):
                    cpus.append(Cpu(n, package, core, book=drawer, drawer=drawer))
                    n += 1
                core += 1
    return cpus


# ---- POWER7 big-endian PowerVM LPAR: no chip ids, so physical_package_id is -1 ----

def power_cpuinfo(cpu_line: str, revision: str, trailer: str) -> Callable[[list[Cpu]], str]:
    def text(online: list[Cpu]) -> str:
        blocks = [f"processor\t: {c.number}\ncpu\t\t: {cpu_line}\nclock\t\t: 3550.000000MHz\n"
                  f"revision\t: {revision}\n" for c in online]
        return "\n".join(blocks) + "\n" + trailer
    return text


def power_cpus(packages: list[int], cores_per_package: int, smt: int, core_base: int) -> list[Cpu]:
    cpus, n = [], 0
    for index, package in enumerate(packages):
        for core in range(cores_per_package):
            for _ in range(smt):
                cpus.append(Cpu(n, package, core_base * index + core * smt if package != -1 else n // smt * smt))
                n += 1
    return cpus


# ---- RISC-V: Sophgo SG2042 (Milk-V Pioneer), 64 cores in 16 clusters of 4; core ids restart per cluster ----

def sg2042_cpuinfo(online: list[Cpu]) -> str:
    isa = "rv64imafdcv_zicbom_zicboz_zicntr_zicsr_zifencei_zihintpause_zihpm_zfh_zfhmin_zca_zcd_zba_zbb_zbc_zbs"
    return "\n".join(
        f"processor\t: {c.number}\nhart\t\t: {c.number}\nisa\t\t: {isa}\nmmu\t\t: sv39\nuarch\t\t: thead,c920\n"
        "mvendorid\t: 0x5b7\nmarchid\t\t: 0x0\nmimpid\t\t: 0x0\n" for c in online) + "\n"


def sg2042_cpus() -> list[Cpu]:
    return [Cpu(n, 0, n % 4, cluster=n // 4) for n in range(64)]


# ---- LoongArch: two Loongson-3C5000 sockets of 16 cores ----

def loongarch_cpuinfo(online: list[Cpu]) -> str:
    head = "system type\t\t: generic-loongson-machine\n\n"
    return head + "\n".join(
        f"processor\t\t: {c.number}\npackage\t\t\t: {c.package}\ncore\t\t\t: {c.core}\nglobal_id\t\t: {c.number}\n"
        "CPU Family\t\t: Loongson-64bit\nModel Name\t\t: Loongson-3C5000\nCPU Revision\t\t: 0x11\n"
        "FPU Revision\t\t: 0x00\nCPU MHz\t\t\t: 2200.00\nBogoMIPS\t\t: 4400.00\nTLB Entries\t\t: 2112\n"
        "Address Sizes\t\t: 48 bits physical, 48 bits virtual\nISA\t\t\t: loongarch32r loongarch32s loongarch64\n"
        "Features\t\t: cpucfg lam ual fpu lsx lasx crc32 complex crypto lvz lbt_x86 lbt_arm lbt_mips\n"
        "Hardware Watchpoint\t: yes, iwatch count: 8, dwatch count: 8\n" for c in online) + "\n"


# ---- ARMv7: NXP i.MX6 Quad (4 x Cortex-A9), a 3.0 kernel's layout: CPU ids after the processors ----

def imx6_cpuinfo(online: list[Cpu]) -> str:
    first = "Processor\t: ARMv7 Processor rev 10 (v7l)\n"
    blocks = [f"processor\t: {c.number}\nBogoMIPS\t: 790.52\n" for c in online]
    trailer = ("Features\t: swp half thumb fastmult vfp edsp neon vfpv3 tls \nCPU implementer\t: 0x41\n"
               "CPU architecture: 7\nCPU variant\t: 0x2\nCPU part\t: 0xc09\nCPU revision\t: 10\n\n"
               "Hardware\t: Freescale i.MX 6Quad Sabre-SD Board\nRevision\t: 63012\nSerial\t\t: 0000000000000000\n")
    return first + "\n".join(blocks) + "\n" + trailer


# ---- x86 hybrid: Core i9-12900K, 8 P-cores with Hyper-Threading (CPUs 0-15) and 8 E-cores (16-23) ----

ADL_FLAGS = (
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss "
    "ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc art arch_perfmon pebs bts rep_good nopl xtopology "
    "nonstop_tsc cpuid aperfmperf tsc_known_freq pni pclmulqdq dtes64 monitor ds_cpl vmx smx est tm2 ssse3 sdbg fma "
    "cx16 xtpr pdcm pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm abm "
    "3dnowprefetch cpuid_fault epb ssbd ibrs ibpb stibp ibrs_enhanced tpr_shadow flexpriority ept vpid ept_ad "
    "fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid rdseed adx smap clflushopt clwb intel_pt sha_ni xsaveopt "
    "xsavec xgetbv1 xsaves split_lock_detect avx_vnni dtherm ida arat pln pts hwp hwp_notify hwp_act_window hwp_epp "
    "hwp_pkg_req hfi vnmi umip pku ospke waitpkg gfni vaes vpclmulqdq tme rdpid movdiri movdir64b fsrm md_clear "
    "serialize pconfig arch_lbr ibt flush_l1d arch_capabilities"
)


def x86_cpuinfo(model_name: str, family: int, model: int, flags: str, siblings: int,
                cores: int) -> Callable[[list[Cpu]], str]:
    def text(online: list[Cpu]) -> str:
        return "\n".join(
            f"processor\t: {c.number}\nvendor_id\t: GenuineIntel\ncpu family\t: {family}\nmodel\t\t: {model}\n"
            f"model name\t: {model_name}\nstepping\t: 2\nmicrocode\t: 0x2c\ncpu MHz\t\t: 3200.000\n"
            f"cache size\t: 30720 KB\nphysical id\t: {c.package}\nsiblings\t: {siblings}\ncore id\t\t: {c.core}\n"
            f"cpu cores\t: {cores}\napicid\t\t: {c.number}\ninitial apicid\t: {c.number}\nfpu\t\t: yes\n"
            f"fpu_exception\t: yes\ncpuid level\t: 32\nwp\t\t: yes\nflags\t\t: {flags}\nbogomips\t: 6374.40\n"
            "clflush size\t: 64\ncache_alignment\t: 64\naddress sizes\t: 46 bits physical, 48 bits virtual\n"
            "power management:\n" for c in online) + "\n"
    return text


def hybrid_cpus() -> list[Cpu]:
    p_cores = [Cpu(n, 0, (n // 2) * 4) for n in range(16)]
    e_cores = [Cpu(16 + i, 0, 32 + i) for i in range(8)]
    return p_cores + e_cores


# ---- x86 with offline CPUs: 2 x Xeon E5-2680 v4, one core per socket and four SMT threads taken offline ----

BDW_FLAGS = (
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss "
    "ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc arch_perfmon pebs bts rep_good nopl xtopology nonstop_tsc "
    "cpuid aperfmperf pni pclmulqdq dtes64 monitor ds_cpl vmx smx est tm2 ssse3 sdbg fma cx16 xtpr pdcm pcid dca "
    "sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm abm 3dnowprefetch "
    "cpuid_fault epb cat_l3 cdp_l3 invpcid_single pti intel_ppin ssbd ibrs ibpb stibp tpr_shadow vnmi flexpriority "
    "ept vpid ept_ad fsgsbase tsc_adjust bmi1 hle avx2 smep bmi2 erms invpcid rtm cqm rdt_a rdseed adx smap "
    "intel_pt xsaveopt cqm_llc cqm_occup_llc cqm_mbm_total cqm_mbm_local dtherm ida arat pln pts md_clear flush_l1d"
)


def offline_cpus() -> list[Cpu]:
    cpus = []
    for n in range(56):
        thread, index = divmod(n, 28)
        package, core = divmod(index, 14)
        offline = core == 13 or (package == 1 and thread == 1 and core in (6, 7, 8, 9))
        cpus.append(Cpu(n, package, core, online=not offline))
    return cpus


MACHINES = [
    Machine("s390x-z15-lpar", "lnxz15a", "5.14.0-362.8.1.el9_3.s390x",
            "#1 SMP Tue Oct 3 11:12:36 EDT 2023",
            os_release("Red Hat Enterprise Linux 9.3 (Plow)", "rhel", "9.3"), 65536000, s390x_cpus(),
            s390x_cpuinfo),
    Machine("ppc64-power7-lpar", "p7lpar01", "3.10.0-1160.el7.ppc64",
            "#1 SMP Tue Aug 18 14:48:26 EDT 2020",
            os_release("CentOS Linux 7 (AltArch)", "centos", "7"), 33554432,
            power_cpus([-1], 4, 4, 0),
            power_cpuinfo("POWER7 (architected), altivec supported", "2.1 (pvr 003f 0201)",
                          "timebase\t: 512000000\nplatform\t: pSeries\nmodel\t\t: IBM,8231-E2B\n"
                          "machine\t\t: CHRP IBM,8231-E2B\n")),
    Machine("ppc64le-power9-powernv", "p9node07", "5.14.0-362.8.1.el9_3.ppc64le",
            "#1 SMP Tue Oct 3 11:12:36 EDT 2023",
            os_release("Rocky Linux 9.3 (Blue Onyx)", "rocky", "9.3"), 268435456,
            power_cpus([0, 8], 8, 4, 2048),
            power_cpuinfo("POWER9, altivec supported", "2.2 (pvr 004e 1202)",
                          "timebase\t: 512000000\nplatform\t: PowerNV\nmodel\t\t: 9006-22P\n"
                          "machine\t\t: PowerNV 9006-22P\nfirmware\t: OPAL\nMMU\t\t: Radix\n"),
            extra={"/bin/sh": elf_header(21, True, True)}),
    Machine("riscv64-sg2042-pioneer", "pioneer", "6.6.20-sophgo", "#1 SMP Tue Mar 5 10:00:00 UTC 2024",
            os_release("Fedora Linux 38 (Thirty Eight)", "fedora", "38"), 131072000, sg2042_cpus(),
            sg2042_cpuinfo, extra={"/.commands/uname-m.txt": b"riscv64\n"}),
    Machine("loongarch64-3c5000-2s", "loong-srv01", "6.6.0-14.0.0.8.oe2403.loongarch64",
            "#1 SMP Thu Jun 13 10:00:00 CST 2024",
            os_release("openEuler 24.03 (LTS)", "openEuler", "24.03"), 134217728,
            [Cpu(n, n // 16, n % 16) for n in range(32)], loongarch_cpuinfo),
    Machine("armv7-imx6q-old", "imx6q-board", "3.0.35-4.1.0", "#1 SMP PREEMPT Mon Jul 7 10:00:00 CST 2014",
            os_release("Ubuntu 12.04 LTS", "ubuntu", "12.04"), 1030000,
            [Cpu(n, 0, n) for n in range(4)], imx6_cpuinfo),
    Machine("x86-hybrid-i9-12900k", "adl-desk", "6.5.0-21-generic", "#21~22.04.1-Ubuntu SMP PREEMPT_DYNAMIC",
            os_release("Ubuntu 22.04.4 LTS", "ubuntu", "22.04"), 65536000, hybrid_cpus(),
            x86_cpuinfo("12th Gen Intel(R) Core(TM) i9-12900K", 6, 151, ADL_FLAGS, 24, 16), arch="x86_64",
            extra={"/sys/devices/cpu_core/cpus": b"0-15\n", "/sys/devices/cpu_atom/cpus": b"16-23\n"}),
    Machine("x86-bdw-2s-offline", "bdw-offline", "4.18.0-513.5.1.el8_9.x86_64",
            "#1 SMP Fri Nov 17 03:31:10 UTC 2023",
            os_release("Rocky Linux 8.9 (Green Obsidian)", "rocky", "8.9"), 131072000, offline_cpus(),
            x86_cpuinfo("Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", 6, 79, BDW_FLAGS, 28, 14), arch="x86_64"),
]


if __name__ == "__main__":
    for machine in MACHINES:
        build(machine)
        print(machine.folder)
