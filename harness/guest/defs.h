/* irqdiff guest test kernel: constants shared by the assembly and the C parts.
 * The batch and log formats are mirrored by src/real/compile.ts and src/real/qemu.ts;
 * keep them in step. */
#ifndef IRQDIFF_DEFS_H
#define IRQDIFF_DEFS_H

#define MAX_CPUS        9          /* 8 scenario vCPUs + 1 harness (watchdog) CPU */
#define STACK_SIZE      0x10000
#define MAX_DEPTH       31
#define LOG_WORDS       8192
#define MAX_FLAGS       16

/* Selectors of the GDT in boot.S. */
#define SEL_CODE32      0x08
#define SEL_DATA        0x10
#define SEL_CODE64      0x18

/* The per-vCPU interpreter state word: pc, handler nesting depth, a pending fused STI
 * and the log length all live in one 32-bit word, so that one ADD commits an op
 * (and its log record) atomically with respect to interrupts. */
#define ST_PC_MASK      0x1fff
#define ST_DEPTH_SHIFT  13
#define ST_DEPTH_MASK   0x1f
#define ST_FUSE         (1 << 18)
#define ST_LOG_SHIFT    19
#define PC1             1
#define DEPTH1          (1 << ST_DEPTH_SHIFT)
#define LOG1            (1 << ST_LOG_SHIFT)

/* Per-CPU block, addressed through %gs. Offsets must match struct percpu in kernel.c. */
#define PC_STATE        0      /* u32 */
#define PC_CPU          4      /* u32 */
#define PC_NOPS         8      /* u32 */
#define PC_MODE         12     /* u32 */
#define PC_OPS          16     /* u64 */
#define PC_INPRO        24     /* u32: vector + 1 while in an interrupt prologue */
#define PC_NMIDEF       28     /* u32: an NMI was held; take it at the end of the prologue */
#define PC_SCRATCH      32     /* u64 x 3: RIP, RFLAGS, RSP of a frame popped without IRET */
#define PC_SCRFL        40
#define PC_SCRSP        48
#define PC_LOGBUF       56     /* u64 */
#define PC_NMIBLK       64     /* u32 */
#define PC_WDFIRED      68     /* u32 */
#define PC_HLT          72     /* u64: TSC when the current HLT began (0: not halted) */
#define PC_STUCKREQ     80     /* u32: the watchdog declared the current (emulated) HLT stuck */
#define PC_WAITING      84     /* u32: spinning in a wait op */
#define PC_SPUR         88
#define PC_ERR          92
#define PC_DL           96     /* u64: wait deadline */
#define PC_LVLFRAME     112    /* 32 x u64 */
#define PC_LVLLOOP      368    /* 32 x u64 */
#define PC_SIZE         1024

/* CPU modes (what the interrupt handlers do). */
#define MODE_IDLE       0      /* harness code: EOI and return */
#define MODE_PROG       1      /* running a scenario program: record and nest */
#define MODE_END        2      /* program over, waiting for the others (IF = 0) */
#define MODE_DRAIN      3      /* canonical idle: record, EOI, return */
#define MODE_RESET      4      /* between scenarios: EOI and return, record nothing */
#define MODE_START      5      /* between the start barrier and position 0: NMIs are held */

/* Program ops (8 bytes: kind, a, b, c, then a 32-bit data word). */
#define OP_IPI          1      /* a = destination, data = ICR low */
#define OP_EOI          2
#define OP_TPR          3      /* data = value (the TPR register) */
#define OP_CLI          4
#define OP_STI          5
#define OP_NOP          6
#define OP_HLT          7      /* a = 1: always the emulated HLT (no watchdog NMI is needed to end it) */
#define OP_IRET         8
#define OP_READ         9      /* a = register (REG_*) */
#define OP_WORK         10     /* a = flag */
#define OP_WAIT         11     /* a = flag */
#define OP_OUT          12     /* OUT to an unused port: an I/O exit */
#define OP_CPUID        13     /* an unconditional exit under VMX and SVM */
#define OP_MSI          14     /* data = address offset from 0xFEE00000, b = vector */
#define OP_PIN          15     /* a = ISA line, b = level */
#define OP_PINMASK      16     /* a = IOAPIC pin, b = mask, data = RTE low without the mask bit */
#define OP_PAUSE        17
#define OP_CR8          18     /* data = value written to CR8 (TPR[7:4]) */
#define OP_NPF          19     /* read of unbacked guest-physical memory: an EPT/NPT exit */
#define OP_SELFIPI      20     /* data = vector: x2APIC SELF_IPI register, or the ICR's self shorthand on xAPIC */
#define OP_INT          21     /* data = vector (32-254): INT n */
#define OP_LAPICW       22     /* a = xAPIC offset >> 4 (x2APIC MSR 0x800 + a), data = value: lapic_write, lvt_lint */
#define OP_IOAPICW      23     /* a = I/O APIC pin, b = destination (high dword 31:24), data = low dword:
                                * the high dword, then the low one (Linux's __ioapic_write_entry order) */
#define OP_IOREGW       24     /* a = IOREGSEL index (0 ID, 1 version, 2 arbitration), data = the IOWIN write */
#define OP_MAX          25

#define REG_IRR 0
#define REG_ISR 1
#define REG_TMR 2
#define REG_PPR 3
#define REG_TPR 4
#define REG_ESR 5
/* Programmed registers (lapic_read, ioapic_read): one word each. The I/O APIC ones take the
 * register's input line in the op's b. */
#define REG_ID    6
#define REG_VER   7
#define REG_LDR   8
#define REG_DFR   9
#define REG_SVR   10
#define REG_IOID  11
#define REG_IOVER 12
#define REG_REDLO 13
#define REG_REDHI 14
/* ESR without the harness's write before the read: after the scenario wrote ESR itself, reads
 * return what that write latched (SDM 10.5.3, REF-ESR-1). */
#define REG_ESRPLAIN 15
#define REG_TMCCT 16      /* the timer's current count (0x390) */
#define REG_IOARB 17      /* the I/O APIC arbitration register (index 2) */

/* Log records: tag in bits 31:24. */
#define LG_DELIVER      0x01   /* fixed delivery: vector 23:16, pos 12:0 */
#define LG_NMI          0x02   /* NMI delivery at pos */
#define LG_READ         0x03   /* reg 23:16, pos; followed by 1 or 8 words */
#define LG_WAITTO       0x04   /* wait gave up at pos (timeout or every vCPU idle) */
#define LG_HLTSTUCK     0x05   /* hlt never woke at pos: the program stops there; 8 words IRR, 1 word PPR follow */
#define LG_END          0x06   /* program over: pos, depth 20:16 */
#define LG_DRAINISR     0x07   /* followed by 8 words: ISR when the drain starts */
#define LG_DDELIVER     0x08   /* drain: fixed delivery (EOI + IRET follow) */
#define LG_DNMI         0x09   /* drain: NMI (IRET follows) */
#define LG_ENMI         0x0a   /* NMI after the program ended, before the drain (IRET follows) */
#define LG_SPURIOUS     0x0b   /* spurious-vector entry (no ISR bit) at pos */
#define LG_ERROR        0x0c   /* harness error: code 23:0, followed by 1 word */
#define LG_WDSWALLOW    0x0d   /* a watchdog NMI arrived after a real wake-up and was dropped */
#define LG_TRUNC        0x0e   /* the log filled up */
#define LG_WDWAKE       0x0f   /* the watchdog NMI ended a HLT although a deliverable vector was in IRR: pos */
#define LG_DRAINEND     0x10   /* followed by 8 words: IRR when the drain ended */

#define ERR_EXCEPTION   1      /* a real CPU exception (frame with an error code, or vector < 32 from our own code) */
#define ERR_DEPTH       2
#define ERR_BARRIER     3
#define ERR_LOGFULL     4
#define ERR_NOX2APIC    5

#define SPURIOUS_VECTOR 0xff
#define HARNESS_TIMER_VECTOR 0x20

#define BATCH_MAGIC     0x42515249   /* "IRQB" */
#define BATCH_VERSION   2
#define BATCH_HDR_WORDS 11

#define APIC_BASE       0xFEE00000
#define IOAPIC_BASE     0xFEC00000
#define NPF_ADDR        0xC0000000   /* no device and no RAM: every access exits to the VMM */
#define TESTDEV_IRQ     0x2000
#define DEBUG_EXIT_PORT 0xf4
#define UNUSED_PORT     0x80

#endif
