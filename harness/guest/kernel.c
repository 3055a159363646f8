/* irqdiff guest test kernel (x86-64 long mode, freestanding, booted by multiboot 1).
 *
 * Runs a batch of scenario programs (a multiboot module built by src/real/compile.ts),
 * one per vCPU, on every CPU of the machine, and reports what each vCPU observed over
 * COM1. See docs/real-replay.md for the semantics; defs.h for the formats. */
#include "defs.h"

typedef unsigned int u32;
typedef unsigned long u64;
typedef long s64;
typedef unsigned char u8;

/* What the stubs push (SAVE in boot.S), then the CPU's frame. */
struct regs {
	u64 r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
	u64 rip, cs, rflags, rsp, ss;
};

struct percpu {
	volatile u32 state;     /* 0 */
	u32 cpu;                /* 4 */
	u32 nops;               /* 8 */
	volatile u32 mode;      /* 12 */
	u64 ops;                /* 16 */
	volatile u32 inpro;     /* 24 */
	volatile u32 nmidef;    /* 28 */
	u64 scratch, scrfl, scrsp; /* 32, 40, 48 */
	u32 *logbuf;            /* 56 */
	volatile u32 nmiblk;    /* 64 */
	volatile u32 wdfired;   /* 68 */
	volatile u64 hlt;       /* 72 */
	volatile u32 stuckreq;  /* 80 */
	volatile u32 waiting;   /* 84: flag + 1 while spinning in a wait op */
	volatile u32 spur;      /* 88 */
	u32 err;                /* 92 */
	u64 dl;                 /* 96 */
	u32 abandon0;           /* 104: the watchdog's give-up generation when the wait began */
	volatile u32 endlog;    /* 108: bit 31: the END record is logged; bits 30:0 NMIs held until then */
	u64 lvlframe[32];       /* 112 */
	u64 lvlloop[32];        /* 368 */
	u8 pad[PC_SIZE - 624];
};

_Static_assert(__builtin_offsetof(struct percpu, mode) == PC_MODE, "mode");
_Static_assert(__builtin_offsetof(struct percpu, ops) == PC_OPS, "ops");
_Static_assert(__builtin_offsetof(struct percpu, inpro) == PC_INPRO, "inpro");
_Static_assert(__builtin_offsetof(struct percpu, scratch) == PC_SCRATCH, "scratch");
_Static_assert(__builtin_offsetof(struct percpu, logbuf) == PC_LOGBUF, "logbuf");
_Static_assert(__builtin_offsetof(struct percpu, nmiblk) == PC_NMIBLK, "nmiblk");
_Static_assert(__builtin_offsetof(struct percpu, hlt) == PC_HLT, "hlt");
_Static_assert(__builtin_offsetof(struct percpu, stuckreq) == PC_STUCKREQ, "stuckreq");
_Static_assert(__builtin_offsetof(struct percpu, waiting) == PC_WAITING, "waiting");
_Static_assert(__builtin_offsetof(struct percpu, dl) == PC_DL, "dl");
_Static_assert(__builtin_offsetof(struct percpu, lvlframe) == PC_LVLFRAME, "lvlframe");
_Static_assert(__builtin_offsetof(struct percpu, lvlloop) == PC_LVLLOOP, "lvlloop");
_Static_assert(sizeof(struct percpu) == PC_SIZE, "size");

struct keyent { u64 rip; s64 delta; };

extern struct keyent __keytab_start[], __keytab_end[];
extern char stubs_start[], stubs_end[], tramp_start[], tramp_end[];
extern char hlt_after[], hltf_after[], hlt_spin_start[], hlt_spin_end[], hltf_spin_start[], hltf_spin_end[];
extern char hlt_stuck_tramp[], resume[], nmi_stub[], loop_top[], start_program_end[];
extern char gdt_desc[];
extern char stacks[];
extern u64 optab_x2[], optab_xa[];
extern void synthetic_iret(void);
extern void restart_on(u64 rsp, void (*fn)(void)) __attribute__((noreturn));
extern void start_program(u64 rsp) __attribute__((noreturn));

/* globals used by the assembly */
u64 *optab;
u32 noiret;
volatile u32 flags[MAX_FLAGS];

static struct percpu percpu[MAX_CPUS] __attribute__((aligned(64)));
static u32 logs[MAX_CPUS][LOG_WORDS];
static u64 idt[512] __attribute__((aligned(16)));
static volatile u32 cpus_online;
static u32 ncpus;               /* CPUs the machine has (from the batch header) */
static u32 x2apic;
static u64 tsc_per_us;
static u32 grace_us, wait_to_us, drain_us, settle_us, quiet_us;
static volatile u32 abandon_gen;

/* batch */
static u32 *batch;
static u32 batch_count;
static volatile u32 scn_idx;
static u32 *scn_rec;            /* current scenario record */
static volatile u32 scn_vcpus, scn_npins;
static u32 *scn_pins;
static u32 *scn_ops[MAX_CPUS];
static u32 scn_nops[MAX_CPUS];
static u32 *next_rec;
static volatile u32 end_count;

/* ---------------------------------------------------------------- helpers */
void *memset(void *d, int c, unsigned long n) { u8 *p = d; while (n--) *p++ = (u8)c; return d; }
void *memcpy(void *d, const void *s, unsigned long n) { u8 *p = d; const u8 *q = s; while (n--) *p++ = *q++; return d; }

static inline void outb(u32 port, u8 v) { __asm__ volatile("outb %0, %w1" :: "a"(v), "Nd"(port)); }
static inline u8 inb(u32 port) { u8 v; __asm__ volatile("inb %w1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u64 rdtsc(void) { u32 lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((u64)hi << 32) | lo; }
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline u64 rdmsr(u32 msr) { u32 lo, hi; __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr)); return ((u64)hi << 32) | lo; }
static inline void wrmsr(u32 msr, u64 v) { __asm__ volatile("wrmsr" :: "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory"); }
static inline struct percpu *me(void) { u32 v; __asm__ volatile("movl %%gs:4, %0" : "=r"(v)); return &percpu[v]; }
static inline void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d) { __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0)); }
static inline volatile u32 *mmio(u64 addr) { return (volatile u32 *)addr; }

/* APIC register access by xAPIC offset, in the mode the batch runs in. */
static inline u32 apic_read(u32 off) {
	if (x2apic) return (u32)rdmsr(0x800 + (off >> 4));
	return *mmio(APIC_BASE + off);
}
static inline void apic_write(u32 off, u32 v) {
	if (x2apic) wrmsr(0x800 + (off >> 4), v);
	else *mmio(APIC_BASE + off) = v;
}
static inline void apic_eoi(void) { apic_write(0xb0, 0); }
static inline int isr_has(u32 v) { return (apic_read(0x100 + ((v >> 5) << 4)) >> (v & 31)) & 1; }
static inline int isr_empty(void) { for (u32 i = 0; i < 8; i++) if (apic_read(0x100 + (i << 4))) return 0; return 1; }
static inline int irr_empty(void) { for (u32 i = 0; i < 8; i++) if (apic_read(0x200 + (i << 4))) return 0; return 1; }
static int irr_highest(void) {
	for (int i = 7; i >= 0; i--) { u32 w = apic_read(0x200 + ((u32)i << 4)); if (w) return i * 32 + 31 - __builtin_clz(w); }
	return -1;
}
static inline void xapic_wait_idle(void) { if (!x2apic) { int n = 1000000; while ((*mmio(APIC_BASE + 0x300) & (1 << 12)) && n--) cpu_relax(); } }
static void send_ipi(u32 dest, u32 low) {
	if (x2apic) { wrmsr(0x830, ((u64)dest << 32) | low); return; }
	xapic_wait_idle();
	*mmio(APIC_BASE + 0x310) = dest << 24;
	*mmio(APIC_BASE + 0x300) = low;
}
void xapic_icr_wait(void) { xapic_wait_idle(); }

/* ---------------------------------------------------------------- serial */
static void putc_(char c) {
	int n = 100000;
	while (!(inb(0x3f8 + 5) & 0x20) && n--) ;
	outb(0x3f8, (u8)c);
}
static void puts_(const char *s) { while (*s) putc_(*s++); }
static void puthex(u32 v) {
	static const char h[] = "0123456789abcdef";
	char b[9]; int i = 8; b[8] = 0;
	if (!v) { putc_('0'); return; }
	while (v) { b[--i] = h[v & 15]; v >>= 4; }
	puts_(b + i);
}
static void putdec(u32 v) {
	char b[11]; int i = 10; b[10] = 0;
	do { b[--i] = (char)('0' + v % 10); v /= 10; } while (v);
	puts_(b + i);
}
static void qemu_exit(u32 code) {
	outb(DEBUG_EXIT_PORT, (u8)code);
	for (;;) { cli(); __asm__ volatile("hlt"); }
}
static void fatal(const char *msg, u32 v) {
	puts_("\nFATAL "); puts_(msg); putc_(' '); puthex(v); putc_('\n');
	qemu_exit(0x21);
}

/* ---------------------------------------------------------------- timing */
static void delay_us(u64 us) { u64 end = rdtsc() + us * tsc_per_us; while (rdtsc() < end) cpu_relax(); }
static u64 deadline(u32 us) { return rdtsc() + (u64)us * tsc_per_us; }

/* ---------------------------------------------------------------- logging */
static inline u32 st_pc(u32 st) { return st & ST_PC_MASK; }
static inline u32 st_depth(u32 st) { return (st >> ST_DEPTH_SHIFT) & ST_DEPTH_MASK; }
static inline u32 st_log(u32 st) { return st >> ST_LOG_SHIFT; }

/* Append from a context that an NMI may interrupt (reserve first, then fill). */
static void log_append(struct percpu *p, const u32 *w, u32 n) {
	u32 old = __sync_fetch_and_add(&p->state, n << ST_LOG_SHIFT);
	u32 at = st_log(old);
	if (at + n + 1 >= LOG_WORDS) { __sync_fetch_and_sub(&p->state, n << ST_LOG_SHIFT); p->err |= ERR_LOGFULL; return; }
	for (u32 i = 0; i < n; i++) p->logbuf[at + i] = w[i];
}
static void log1(struct percpu *p, u32 w) { log_append(p, &w, 1); }

/* ---------------------------------------------------------------- ops helpers (program context) */
static u32 ioapic_read_reg(u32 reg) { *mmio(IOAPIC_BASE) = reg; return *mmio(IOAPIC_BASE + 0x10); }

/* arg: the I/O APIC input line of a redirection-entry read. One vCPU per scenario selects I/O APIC
 * registers, so the IOREGSEL/IOWIN pair is never interleaved (src/real/compile.ts). */
static u32 read_reg_words(u32 reg, u32 arg, u32 *out) {
	switch (reg) {
	case REG_IRR: for (u32 i = 0; i < 8; i++) out[i] = apic_read(0x200 + (i << 4)); return 8;
	case REG_ISR: for (u32 i = 0; i < 8; i++) out[i] = apic_read(0x100 + (i << 4)); return 8;
	case REG_TMR: for (u32 i = 0; i < 8; i++) out[i] = apic_read(0x180 + (i << 4)); return 8;
	case REG_PPR: out[0] = apic_read(0xa0); return 1;
	case REG_TPR: out[0] = apic_read(0x80); return 1;
	case REG_ID: out[0] = apic_read(0x20); return 1;
	case REG_VER: out[0] = apic_read(0x30); return 1;
	case REG_LDR: out[0] = apic_read(0xd0); return 1;
	case REG_DFR: out[0] = apic_read(0xe0); return 1;
	case REG_SVR: out[0] = apic_read(0xf0); return 1;
	case REG_IOID: out[0] = ioapic_read_reg(0); return 1;
	case REG_IOVER: out[0] = ioapic_read_reg(1); return 1;
	case REG_IOARB: out[0] = ioapic_read_reg(2); return 1;
	case REG_REDLO: out[0] = ioapic_read_reg(0x10 + 2 * arg); return 1;
	case REG_REDHI: out[0] = ioapic_read_reg(0x11 + 2 * arg); return 1;
	case REG_ESRPLAIN: out[0] = apic_read(0x280); return 1;
	case REG_TMCCT: out[0] = apic_read(0x390); return 1;
	default: apic_write(0x280, 0); out[0] = apic_read(0x280); return 1;
	}
}

/* Write the read record just past the log end; the op's commit makes it part of the log. */
u32 read_op(u32 reg, u32 arg) {
	struct percpu *p = me();
	u32 st = p->state;
	u32 at = st_log(st);
	u32 tmp[8];
	u32 n = read_reg_words(reg, arg, tmp);
	if (at + n + 2 >= LOG_WORDS) { p->err |= ERR_LOGFULL; return 0; }
	p->logbuf[at] = ((u32)LG_READ << 24) | (reg << 16) | st_pc(st);
	for (u32 i = 0; i < n; i++) p->logbuf[at + 1 + i] = tmp[i];
	return n + 1;
}

void wait_begin(u32 flag) {
	struct percpu *p = me();
	p->dl = deadline(wait_to_us);
	p->abandon0 = abandon_gen;
	p->waiting = flag + 1;
}
/* Give up when the backstop deadline passed or the watchdog saw every vCPU idle. */
u32 wait_check(void) {
	struct percpu *p = me();
	return abandon_gen != p->abandon0 || rdtsc() > p->dl;
}
void wait_seen(void) {
	struct percpu *p = me();
	p->waiting = 0;
	if (settle_us) delay_us(settle_us);
}
u32 wait_timeout_rec(void) {
	struct percpu *p = me();
	p->waiting = 0;
	u32 st = p->state;
	u32 at = st_log(st);
	if (at + 2 >= LOG_WORDS) { p->err |= ERR_LOGFULL; return PC1; }
	p->logbuf[at] = ((u32)LG_WAITTO << 24) | st_pc(st);
	return PC1 + LOG1;
}

static void scenario_tail(void) __attribute__((noreturn));

void end_phase_c(void) __attribute__((noreturn));
void end_phase_c(void) {
	struct percpu *p = me();
	cli();
	p->mode = MODE_END;
	p->hlt = 0;
	p->waiting = 0;
	__sync_fetch_and_and(&p->state, ~(u32)ST_FUSE);
	u32 st = p->state;
	log1(p, ((u32)LG_END << 24) | (st_depth(st) << 16) | st_pc(st));
	/* NMIs that came after the program stopped but before its END record: log them after it. */
	u32 held = __sync_fetch_and_or(&p->endlog, 0x80000000u) & 0x7fffffffu;
	while (held--) log1(p, (u32)LG_ENMI << 24);
	__sync_fetch_and_add(&end_count, 1);
	u64 dl = deadline(5000000);
	while (end_count < scn_vcpus) {
		if (rdtsc() > dl) { u32 e[2] = { ((u32)LG_ERROR << 24) | ERR_BARRIER, end_count }; log_append(p, e, 2); break; }
		cpu_relax();
	}
	scenario_tail();
}

/* The HLT at the current position never woke: record it with IRR and PPR as they are
 * now (the judge reads them as an observation), and stop the program there. */
void hlt_stuck_c(void) __attribute__((noreturn));
void hlt_stuck_c(void) {
	struct percpu *p = me();
	cli();
	/* Read IRR and PPR before leaving MODE_PROG: until then the watchdog lets no wait give up,
	 * so no other vCPU can send anything between its decision and this read. */
	u32 w[10];
	w[0] = ((u32)LG_HLTSTUCK << 24) | st_pc(p->state);
	for (u32 i = 0; i < 8; i++) w[1 + i] = apic_read(0x200 + (i << 4));
	w[9] = apic_read(0xa0);
	p->mode = MODE_END;
	p->hlt = 0;
	log_append(p, w, 10);
	end_phase_c();
}

void bad_op_c(void) __attribute__((noreturn));
void bad_op_c(void) {
	struct percpu *p = me();
	u32 e[2] = { ((u32)LG_ERROR << 24) | 99, st_pc(p->state) };
	p->mode = MODE_END;
	log_append(p, e, 2);
	end_phase_c();
}

/* ---------------------------------------------------------------- handlers */
static int has_errcode(u32 v) { return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30; }

/* Account for an op whose effect happened but whose commit did not (see .keytab). */
static u32 adjust_state(u32 st, u64 rip) {
	for (struct keyent *k = __keytab_start; k < __keytab_end; k++)
		if (k->rip == rip) return st + (u32)k->delta;
	if (rip >= (u64)hlt_spin_start && rip < (u64)hlt_spin_end) return st + PC1;
	if (rip >= (u64)hltf_spin_start && rip < (u64)hltf_spin_end) return st + PC1 - ST_FUSE;
	return st;
}

static void harness_error(struct percpu *p, u32 code, u32 extra) __attribute__((noreturn));
static void harness_error(struct percpu *p, u32 code, u32 extra) {
	if (p->mode != MODE_PROG) fatal("exception in harness mode", (code << 16) | extra);
	u32 e[2] = { ((u32)LG_ERROR << 24) | code, extra };
	p->mode = MODE_END;
	log_append(p, e, 2);
	end_phase_c();
}

/* The program continues inside this handler: record the delivery, open a level. */
static u64 nest(struct percpu *p, struct regs *r, u32 vec, int nmi) {
	u32 st = adjust_state(p->state, r->rip);
	if (st & ST_FUSE) { r->rflags |= 0x200; st &= ~(u32)ST_FUSE; }
	u32 depth = st_depth(st);
	if (depth + 1 > MAX_DEPTH) { p->state = st; harness_error(p, ERR_DEPTH, vec); }
	u32 at = st_log(st);
	if (at + 2 < LOG_WORDS) {
		p->logbuf[at] = ((u32)(nmi ? LG_NMI : LG_DELIVER) << 24) | (vec << 16) | st_pc(st);
		st += LOG1;
	} else p->err |= ERR_LOGFULL;
	/* Woken: not halted, not waiting (the watchdog must not count this vCPU as idle). */
	p->hlt = 0;
	p->waiting = 0;
	p->stuckreq = 0;
	depth++;
	p->lvlframe[depth] = (u64)&r->rip;
	p->lvlloop[depth] = ((u64)r - 64) & ~15ul;
	r->rip = (u64)resume;
	if (nmi) p->nmiblk = 1;
	st = (st & ~((u32)ST_DEPTH_MASK << ST_DEPTH_SHIFT)) | (depth << ST_DEPTH_SHIFT);
	p->state = st;
	return p->lvlloop[depth];
}

u64 fixed_c(struct regs *r) {
	struct percpu *p = me();
	u32 vec = p->inpro - 1;
	if (has_errcode(vec) && !(r->cs == SEL_CODE64 && r->rip >= 0x100000)) harness_error(p, ERR_EXCEPTION, vec);
	if (vec < 32 && vec != 2 && r->rip >= (u64)stubs_start && r->rip < (u64)stubs_end) harness_error(p, ERR_EXCEPTION, vec);
	u32 mode = p->mode;
	if (vec == SPURIOUS_VECTOR && !isr_has(SPURIOUS_VECTOR)) {
		p->spur++;
		if (mode == MODE_PROG) {
			u32 st = adjust_state(p->state, r->rip);
			log1(p, ((u32)LG_SPURIOUS << 24) | st_pc(st));
			if (p->nmidef) { p->nmidef = 0; p->inpro = 0; return nest(p, r, 2, 1); }
		}
		p->inpro = 0;
		return 0;
	}
	switch (mode) {
	case MODE_PROG:
		return nest(p, r, vec, 0);
	case MODE_DRAIN:
		log1(p, ((u32)LG_DDELIVER << 24) | (vec << 16));
		apic_eoi();
		break;
	case MODE_END:
		/* IF is 0 here: a delivery now is illegal; record it (position 0x1fff). */
		log1(p, ((u32)LG_DELIVER << 24) | (vec << 16) | ST_PC_MASK);
		apic_eoi();
		break;
	default:
		apic_eoi();
		break;
	}
	p->inpro = 0;
	return 0;
}

/* Would the APIC hand the core a fixed interrupt now (IRR above PPR)? */
static int deliverable_pending(void) {
	int v = irr_highest();
	return v >= 0 && (u32)(v >> 4) > ((apic_read(0xa0) >> 4) & 15);
}

/* Returns 0: IRET; 1: return without IRET (the NMI is held, NMIs stay blocked);
 * otherwise the stack of a new nesting level (the program continues in the handler). */
u64 nmi_c(struct regs *r) {
	struct percpu *p = me();
	u32 mode = p->mode;
	if (p->wdfired) {
		p->wdfired = 0;
		if (mode == MODE_PROG && (r->rip == (u64)hlt_after || r->rip == (u64)hltf_after)) {
			if ((r->rflags & 0x200) && deliverable_pending()) {
				/* The HLT should have been woken by what is in IRR: say so, and go on
				 * (it is taken at once unless the hypervisor keeps it from the core). */
				u32 st = adjust_state(p->state, r->rip);
				log1(p, ((u32)LG_WDWAKE << 24) | st_pc(st));
				p->hlt = 0;
				return 0;
			}
			/* The watchdog ended a HLT that nothing woke: the vCPU is stuck there. It is no
			 * longer idle (so no wait gives up) until hlt_stuck_c has read IRR. */
			p->hlt = 0;
			if (r->rip == (u64)hltf_after) __sync_fetch_and_and(&p->state, ~(u32)ST_FUSE);
			r->rip = (u64)hlt_stuck_tramp;
			r->rflags &= ~0x200ul;
			return 0;
		}
		log1(p, ((u32)LG_WDSWALLOW << 24) | st_pc(p->state));
		return 0;
	}
	switch (mode) {
	case MODE_START:
		/* Between the start barrier and position 0: hold it (start_program takes it). */
		p->nmidef = 1;
		return 1;
	case MODE_PROG:
		if (p->inpro || (r->rip >= (u64)stubs_start && r->rip < (u64)stubs_end)) {
			p->nmidef = 1;
			return 1;
		}
		if (r->rip >= (u64)start_program && r->rip < (u64)start_program_end) {
			/* Still starting: taken at position 0, where the program has IF = 1. */
			r->rflags |= 0x200;
		}
		return nest(p, r, 2, 1);
	case MODE_DRAIN: log1(p, (u32)LG_DNMI << 24); return 0;
	case MODE_END:
		/* The END record (or the stuck HLT's) may not be logged yet: keep the order. */
		for (;;) {
			u32 e = p->endlog;
			if (e & 0x80000000u) { log1(p, (u32)LG_ENMI << 24); break; }
			if (__sync_bool_compare_and_swap(&p->endlog, e, e + 1)) break;
		}
		return 0;
	default: return 0;
	}
}

u64 nmi_deferred_c(struct regs *r) { return nest(me(), r, 2, 1); }

/* ---------------------------------------------------------------- setup */
static void set_gate(u32 v, u64 handler) {
	idt[2 * v] = (handler & 0xffff) | ((u64)SEL_CODE64 << 16) | ((u64)0x8e00 << 32) | ((handler & 0xffff0000ul) << 32);
	idt[2 * v + 1] = handler >> 32;
}

static void load_tables(u32 cpu) {
	struct { unsigned short lim; u64 base; } __attribute__((packed)) idtr = { sizeof(idt) - 1, (u64)idt };
	__asm__ volatile("lgdt (%0)" :: "r"(gdt_desc) : "memory");
	__asm__ volatile("lidt %0" :: "m"(idtr) : "memory");
	wrmsr(0xC0000101, (u64)&percpu[cpu]);   /* GS base */
}

static void apic_local_init(u32 cpu) {
	if (x2apic) {
		u64 base = rdmsr(0x1b);
		wrmsr(0x1b, base | (1 << 11) | (1 << 10));
	} else {
		apic_write(0xe0, 0xffffffffu);                       /* DFR flat */
		apic_write(0xd0, cpu < 8 ? (1u << (24 + cpu)) : 0);  /* LDR */
	}
	apic_write(0xf0, 0x100 | SPURIOUS_VECTOR);
	apic_write(0x320, 0x10000);  /* timer */
	apic_write(0x330, 0x10000);  /* thermal */
	apic_write(0x340, 0x10000);  /* perf */
	apic_write(0x350, 0x10000);  /* LINT0 */
	apic_write(0x360, 0x10000);  /* LINT1 */
	apic_write(0x370, 0x10000);  /* error */
	apic_write(0x80, 0);
	apic_write(0x280, 0);
	while (!isr_empty()) apic_eoi();
}

static void percpu_init(u32 cpu) {
	struct percpu *p = &percpu[cpu];
	p->cpu = cpu;
	p->logbuf = logs[cpu];
}

static void cpu_common_init(u32 cpu) {
	load_tables(cpu);
	apic_local_init(cpu);
	__sync_fetch_and_add(&cpus_online, 1);
}

static volatile u32 bar_count, bar_gen;
static void barrier(void) {
	u32 g = bar_gen;
	if (__sync_add_and_fetch(&bar_count, 1) == ncpus) {
		bar_count = 0;
		__sync_synchronize();
		bar_gen = g + 1;
		return;
	}
	u64 dl = deadline(30000000);
	while (bar_gen == g) { cpu_relax(); if (rdtsc() > dl) fatal("barrier timeout", me()->cpu); }
}

static void scenario_loop(void);

static u64 stack_top(u32 cpu) { return (u64)stacks + (u64)(cpu + 1) * STACK_SIZE - 16; }

void ap_main(u32 cpu) {
	if (cpu >= MAX_CPUS) for (;;) { cli(); __asm__ volatile("hlt"); }
	cpu_common_init(cpu);
	restart_on(stack_top(cpu), scenario_loop);
}

static void calibrate(void) {
	/* The LAPIC timer counts at 1 GHz in QEMU and KVM (1 ns per tick, divide by 1). */
	*mmio(APIC_BASE + 0x3e0) = 0xb;
	*mmio(APIC_BASE + 0x320) = 0x10000 | 0xfe;
	*mmio(APIC_BASE + 0x380) = 0xffffffffu;
	u32 c0 = *mmio(APIC_BASE + 0x390);
	u64 t0 = rdtsc();
	while (c0 - *mmio(APIC_BASE + 0x390) < 20000000u) cpu_relax();
	u32 c1 = *mmio(APIC_BASE + 0x390);
	u64 t1 = rdtsc();
	*mmio(APIC_BASE + 0x380) = 0;
	u64 ns = c0 - c1;
	tsc_per_us = (t1 - t0) * 1000 / ns;
	if (tsc_per_us == 0) tsc_per_us = 1;
}

static void start_aps(void) {
	memcpy((void *)0x8000, tramp_start, (u64)(tramp_end - tramp_start));
	*mmio(APIC_BASE + 0x310) = 0;
	*mmio(APIC_BASE + 0x300) = 0x000c4500;   /* INIT, all excluding self */
	delay_us(10000);
	for (int i = 0; i < 2; i++) {
		*mmio(APIC_BASE + 0x300) = 0x000c4608;   /* SIPI vector 8 (0x8000) */
		delay_us(300);
	}
	u64 dl = deadline(3000000);
	while (cpus_online < ncpus - 1 && rdtsc() < dl) cpu_relax();
	if (cpus_online < ncpus - 1) fatal("APs did not start", cpus_online);
}

void kmain(u32 magic, u32 mbi_addr) {
	u32 *mbi = (u32 *)(u64)mbi_addr;
	if (magic != 0x2BADB002) fatal("not multiboot", magic);
	/* COM1: 115200 8N1, no interrupts */
	outb(0x3f8 + 1, 0); outb(0x3f8 + 3, 0x80); outb(0x3f8, 1); outb(0x3f8 + 1, 0); outb(0x3f8 + 3, 3); outb(0x3f8 + 2, 0xc7);
	/* mask both 8259s */
	outb(0x21, 0xff); outb(0xa1, 0xff);
	if (!(mbi[0] & (1 << 3)) || mbi[5] == 0) fatal("no batch module", 0);
	u32 *mod = (u32 *)(u64)mbi[6];
	batch = (u32 *)(u64)mod[0];
	if (batch[0] != BATCH_MAGIC || batch[1] != BATCH_VERSION) fatal("bad batch", batch[0]);
	batch_count = batch[2];
	x2apic = batch[3];
	ncpus = batch[4];
	grace_us = batch[5]; wait_to_us = batch[6]; drain_us = batch[7];
	noiret = batch[8] & 1;
	settle_us = batch[9]; quiet_us = batch[10];
	next_rec = batch + BATCH_HDR_WORDS;
	if (ncpus < 2 || ncpus > MAX_CPUS) fatal("bad cpu count", ncpus);
	u32 a, b, c, d;
	cpuid(1, &a, &b, &c, &d);
	int has_x2 = (c >> 21) & 1;
	puts_("IRQDIFF BOOT x2apic-cpuid="); putdec(has_x2); puts_(" long-mode=1\n");
	if (x2apic && !has_x2) { puts_("NOX2APIC\n"); qemu_exit(0x22); }
	optab = x2apic ? optab_x2 : optab_xa;
	for (u32 v = 0; v < 256; v++) set_gate(v, (u64)stubs_start + 32 * v);
	set_gate(2, (u64)nmi_stub);
	for (u32 i = 0; i < MAX_CPUS; i++) percpu_init(i);
	load_tables(0);
	calibrate();
	/* APs start before the BSP switches to x2APIC (INIT/SIPI through the xAPIC page). */
	start_aps();
	cpu_common_init(0);
	/* IOAPIC: everything masked */
	for (u32 pin = 0; pin < 24; pin++) {
		*mmio(IOAPIC_BASE) = 0x10 + 2 * pin; *mmio(IOAPIC_BASE + 0x10) = 0x10000;
		*mmio(IOAPIC_BASE) = 0x11 + 2 * pin; *mmio(IOAPIC_BASE + 0x10) = 0;
	}
	for (u32 l = 0; l < 16; l++) if (l != 0 && l != 2 && l != 4) outb(TESTDEV_IRQ + l, 0);
	puts_("IRQDIFF READY cpus="); putdec(cpus_online); puts_(" x2apic="); putdec(x2apic); puts_(" noiret="); putdec(noiret);
	puts_(" tsc_mhz="); putdec((u32)tsc_per_us); puts_(" scenarios="); putdec(batch_count); putc_('\n');
	restart_on(stack_top(0), scenario_loop);
}

/* ---------------------------------------------------------------- scenarios */
static void ioapic_write(u32 reg, u32 v) { *mmio(IOAPIC_BASE) = reg; *mmio(IOAPIC_BASE + 0x10) = v; }

/* The I/O APIC ID as the platform left it, put back before every scenario (ioapic_reg_write changes it). */
static u32 ioapic_boot_id, ioapic_boot_id_saved;

static void prepare_scenario(void) {
	u32 *r = next_rec;
	if (!ioapic_boot_id_saved) { ioapic_boot_id = ioapic_read_reg(0); ioapic_boot_id_saved = 1; }
	ioapic_write(0, ioapic_boot_id);
	scn_rec = r;
	u32 size = r[0];
	next_rec = r + size;
	scn_vcpus = r[2];
	scn_npins = r[3];
	scn_pins = r + 4;
	u32 *q = scn_pins + 4 * scn_npins;
	for (u32 c = 0; c < scn_vcpus; c++) { scn_nops[c] = q[0]; scn_ops[c] = q + 1; q += 1 + 2 * q[0]; }
	for (u32 f = 0; f < MAX_FLAGS; f++) flags[f] = 0;
	end_count = 0;
	for (u32 i = 0; i < scn_npins; i++) {
		u32 *pin = scn_pins + 4 * i;   /* ioapic pin (= ISA line), vector, dest APIC ID, flags */
		u32 n = pin[0];
		outb(TESTDEV_IRQ + n, 0);
		ioapic_write(0x10 + 2 * n, 0x10000);              /* masked, edge: clears remote IRR */
		ioapic_write(0x11 + 2 * n, pin[2] << 24);
		ioapic_write(0x10 + 2 * n, pin[1] | ((pin[3] & 1) << 15) | ((pin[3] & 2) ? 0x10000 : 0));
	}
}

/* What a scenario may have programmed (lapic_write, lvt_lint), back to the boot values on every
 * CPU (also those the next scenario does not use, whose stale ID or LDR could match its
 * messages): the ID, LDR and DFR (xAPIC; x2APIC has them read-only), the APIC software-enabled
 * (what it held while disabled drains in reset_apic), LINT0/1 masked. */
static void restore_programmed(u32 cpu) {
	apic_write(0xf0, 0x100 | SPURIOUS_VECTOR);
	if (!x2apic) {
		apic_write(0x20, cpu << 24);
		apic_write(0xe0, 0xffffffffu);
		apic_write(0xd0, cpu < 8 ? (1u << (24 + cpu)) : 0);
	}
	apic_write(0x350, 0x10000);
	apic_write(0x360, 0x10000);
	/* The APIC timer stopped and masked (scenarios arm none: their timer events are skipped). */
	apic_write(0x320, 0x10000);
	apic_write(0x380, 0);
}

static void reset_apic(struct percpu *p) {
	cli();
	p->mode = MODE_RESET;
	apic_write(0x80, 0);
	__asm__ volatile("movq %0, %%cr8" :: "r"(0ul));
	for (int i = 0; i < 256 && !isr_empty(); i++) apic_eoi();
	/* TMR bits survive EOI; an edge acceptance of the same vector clears them. */
	for (u32 w = 0; w < 8; w++) {
		u32 t = apic_read(0x180 + (w << 4));
		for (u32 b = 0; b < 32; b++) if (t & (1u << b)) send_ipi(0, 0x00040000 | (w * 32 + b));
	}
	sti();
	u64 dl = deadline(20000);
	while (rdtsc() < dl) {
		if (irr_empty()) break;
		cpu_relax();
	}
	delay_us(20);
	cli();
	for (int i = 0; i < 256 && !isr_empty(); i++) apic_eoi();
	apic_write(0x280, 0);
	apic_write(0x280, 0);
	synthetic_iret();
	p->nmiblk = 0;
	p->wdfired = 0;
	p->hlt = 0;
	p->stuckreq = 0;
	p->waiting = 0;
	p->spur = 0;
	p->err = 0;
	p->nmidef = 0;
	p->inpro = 0;
	p->endlog = 0;
	p->mode = MODE_IDLE;
}

/* Canonical idle until nothing is left: TPR 0, ISR empty, NMIs unblocked, IF = 1, until
 * IRR has been empty for quiet_us (every vCPU has ended, so nothing more is sent) or
 * drain_us passed. What IRR still holds then is logged: bare metal would deliver it. */
static void drain(struct percpu *p) {
	u32 w[9];
	w[0] = (u32)LG_DRAINISR << 24;
	for (u32 i = 0; i < 8; i++) w[1 + i] = apic_read(0x100 + (i << 4));
	log_append(p, w, 9);
	apic_write(0x80, 0);
	for (int i = 0; i < 256 && !isr_empty(); i++) apic_eoi();
	synthetic_iret();
	p->nmiblk = 0;
	p->mode = MODE_DRAIN;
	sti();
	u64 end = deadline(drain_us), quiet = (u64)quiet_us * tsc_per_us, since = rdtsc();
	for (;;) {
		u64 now = rdtsc();
		if (now > end) break;
		/* A software-disabled APIC (the scenario cleared SVR bit 8) holds IRR: nothing more comes. */
		if (!irr_empty() && (apic_read(0xf0) & 0x100)) since = now;
		else if (now - since >= quiet) break;
		cpu_relax();
	}
	cli();
	p->mode = MODE_IDLE;
	w[0] = (u32)LG_DRAINEND << 24;
	for (u32 i = 0; i < 8; i++) w[1 + i] = apic_read(0x200 + (i << 4));
	log_append(p, w, 9);
}

static void print_results(void) {
	puts_("S "); putdec(scn_idx); puts_(" "); putdec(scn_rec[1]); putc_('\n');
	for (u32 c = 0; c < scn_vcpus; c++) {
		struct percpu *p = &percpu[c];
		u32 n = st_log(p->state);
		puts_("C "); putdec(c); puts_(" "); puthex(p->err); puts_(" "); putdec(p->spur);
		for (u32 i = 0; i < n; i++) { putc_(' '); puthex(p->logbuf[i]); }
		putc_('\n');
	}
	puts_("F "); putdec(scn_idx); putc_('\n');
}

/* A vCPU is idle when its program ended, it is halted, or it spins in a wait whose flag
 * is still clear (one that has not started yet is not idle). */
static int cpu_idle(struct percpu *q) {
	if (q->mode == MODE_END) return 1;
	if (q->mode != MODE_PROG) return 0;
	if (q->hlt) return 1;
	u32 w = q->waiting;
	return w && !flags[(w - 1) & (MAX_FLAGS - 1)];
}

static void watchdog(void) {
	/* The harness CPU. When every scenario vCPU has been idle for grace_us, nothing is in
	 * flight any more (docs/real-replay.md): a halted vCPU is stuck (a real HLT gets an
	 * NMI, an emulated one PC_STUCKREQ), and if none is halted, waits give up. */
	apic_write(0x3e0, 0xb);
	apic_write(0x320, 0x20000 | HARNESS_TIMER_VECTOR);   /* periodic */
	apic_write(0x380, 100000);                           /* 100 us */
	u64 grace = (u64)grace_us * tsc_per_us, since = 0;
	sti();
	while (end_count < scn_vcpus) {
		__asm__ volatile("hlt");
		u64 now = rdtsc();
		int all = 1;
		for (u32 c = 0; c < scn_vcpus && all; c++) all = cpu_idle(&percpu[c]);
		if (!all) { since = 0; continue; }
		if (!since) { since = now; continue; }
		if (now - since < grace) continue;
		int any = 0;
		for (u32 c = 0; c < scn_vcpus; c++) {
			struct percpu *q = &percpu[c];
			u64 h = q->hlt;
			if (q->mode != MODE_PROG || !h) continue;
			any = 1;
			if (h & 1) {
				if (!q->wdfired) { q->wdfired = 1; send_ipi(c, 0x00004400); }   /* NMI, physical */
			} else q->stuckreq = 1;
		}
		if (!any) __sync_fetch_and_add(&abandon_gen, 1);
		since = 0;
	}
	cli();
	apic_write(0x380, 0);
	apic_write(0x320, 0x10000);
}

static void scenario_loop(void) {
	struct percpu *p = me();
	u32 cpu = p->cpu;
	cli();
	p->mode = MODE_IDLE;
	restore_programmed(cpu);
	barrier();
	if (scn_idx >= batch_count) {
		if (cpu == 0) { puts_("DONE\n"); qemu_exit(0x10); }
		for (;;) { cli(); __asm__ volatile("hlt"); }
	}
	if (cpu == 0) prepare_scenario();
	barrier();
	int in_scn = cpu < scn_vcpus;
	u64 rsp = stack_top(cpu) - 256;
	/* CPUs the scenario does not use (the watchdog's included) leave the IDs a scenario can name:
	 * a physical message to such an ID must reach nobody, and QEMU's xAPIC would deliver it to
	 * one APIC only (apic_find_dest), possibly the idle one. IDs 0xf0 + cpu are never written by
	 * a compiled scenario (src/real/compile.ts). */
	if (!in_scn && !x2apic) apic_write(0x20, (0xf0 + cpu) << 24);
	if (in_scn) {
		reset_apic(p);
		p->state = 0;
		p->nops = scn_nops[cpu];
		p->ops = (u64)scn_ops[cpu];
		p->lvlloop[0] = rsp;
		p->lvlframe[0] = 0;
		/* From here on an NMI is held until position 0 (another vCPU may start first). */
		p->mode = MODE_START;
	}
	barrier();
	if (in_scn) start_program(rsp);
	if (cpu == ncpus - 1) watchdog();
	scenario_tail();
}

static void scenario_tail(void) {
	struct percpu *p = me();
	u32 cpu = p->cpu;
	cli();
	barrier();
	if (cpu == 0) for (u32 i = 0; i < scn_npins; i++) outb(TESTDEV_IRQ + scn_pins[4 * i], 0);
	barrier();
	if (cpu < scn_vcpus) drain(p);
	barrier();
	if (cpu == 0) { print_results(); scn_idx++; }
	restart_on(stack_top(cpu), scenario_loop);
}
