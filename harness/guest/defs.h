/* irqdiff guest test kernel: constants shared by the assembly and the C parts.
 * The batch and log formats are mirrored by src/real/format.ts; keep them in step. */
#ifndef IRQDIFF_DEFS_H
#define IRQDIFF_DEFS_H

#define MAX_CPUS        9          /* 8 scenario vCPUs + 1 harness (watchdog) CPU */
#define STACK_SIZE      0x10000
#define MAX_DEPTH       31
#define LOG_WORDS       8192
#define MAX_FLAGS       16

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

/* Per-CPU block, addressed through %fs. Offsets must match struct percpu in kernel.c. */
#define PC_STATE        0
#define PC_CPU          4
#define PC_NOPS         8
#define PC_OPS          12
#define PC_MODE         16
#define PC_INPRO        20
#define PC_NMIDEF       24
#define PC_SCRATCH      28
#define PC_LOGBUF       32
#define PC_NMIBLK       36
#define PC_HLTLO        40
#define PC_HLTHI        44
#define PC_WDFIRED      48
#define PC_SPUR         52
#define PC_LOOP0        56
#define PC_ERR          60
#define PC_DLLO         64
#define PC_DLHI         68
#define PC_LVLFRAME     72     /* 32 x u32 */
#define PC_LVLLOOP      200    /* 32 x u32 */
#define PC_SIZE         512

/* CPU modes (what the interrupt handlers do). */
#define MODE_IDLE       0      /* harness code: EOI and return */
#define MODE_PROG       1      /* running a scenario program: record and nest */
#define MODE_END        2      /* program over, waiting for the others (IF = 0) */
#define MODE_DRAIN      3      /* canonical idle: record, EOI, return */
#define MODE_RESET      4      /* between scenarios: EOI and return, record nothing */

/* Program ops (8 bytes: kind, a, b, c, then a 32-bit data word). */
#define OP_IPI          1      /* a = destination, data = ICR low */
#define OP_EOI          2
#define OP_TPR          3      /* data = value */
#define OP_CLI          4
#define OP_STI          5
#define OP_NOP          6
#define OP_HLT          7
#define OP_IRET         8
#define OP_READ         9      /* a = register (REG_*) */
#define OP_WORK         10     /* a = flag */
#define OP_WAIT         11     /* a = flag */
#define OP_OUT          12     /* port I/O that traps */
#define OP_CPUID        13
#define OP_MSI          14     /* data = address offset from 0xFEE00000, b = vector */
#define OP_PIN          15     /* a = ISA line, b = level */
#define OP_PINMASK      16     /* a = IOAPIC pin, b = mask, data = RTE low without the mask bit */
#define OP_PAUSE        17
#define OP_MAX          18

#define REG_IRR 0
#define REG_ISR 1
#define REG_TMR 2
#define REG_PPR 3
#define REG_TPR 4
#define REG_ESR 5

/* Log records: tag in bits 31:24. */
#define LG_DELIVER      0x01   /* fixed delivery: vector 23:16, pos 12:0 */
#define LG_NMI          0x02   /* NMI delivery at pos */
#define LG_READ         0x03   /* reg 19:16, pos; followed by 1 or 8 words */
#define LG_WAITTO       0x04   /* wait timed out at pos */
#define LG_HLTSTUCK     0x05   /* hlt never woke at pos: the program stops there */
#define LG_END          0x06   /* program over: pos, depth 20:16 */
#define LG_DRAINISR     0x07   /* followed by 8 words: ISR when the drain starts */
#define LG_DDELIVER     0x08   /* drain: fixed delivery (EOI + IRET follow) */
#define LG_DNMI         0x09   /* drain: NMI (IRET follows) */
#define LG_ENMI         0x0a   /* NMI after the program ended, before the drain (IRET follows) */
#define LG_SPURIOUS     0x0b   /* spurious-vector entry (no ISR bit) at pos */
#define LG_ERROR        0x0c   /* harness error: code 23:0, followed by 1 word */
#define LG_WDSWALLOW    0x0d   /* a watchdog NMI arrived after a real wake-up and was dropped */
#define LG_TRUNC        0x0e   /* the log filled up */

#define ERR_EXCEPTION   1      /* a real CPU exception (frame with an error code, or vector < 32 from our own code) */
#define ERR_DEPTH       2
#define ERR_BARRIER     3
#define ERR_LOGFULL     4
#define ERR_NOX2APIC    5

#define SPURIOUS_VECTOR 0xff
#define HARNESS_TIMER_VECTOR 0x20

#define BATCH_MAGIC     0x42515249   /* "IRQB" */
#define BATCH_VERSION   1

#define APIC_BASE       0xFEE00000
#define IOAPIC_BASE     0xFEC00000
#define TESTDEV_IRQ     0x2000
#define DEBUG_EXIT_PORT 0xf4

#endif
