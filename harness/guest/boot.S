/* irqdiff guest test kernel (x86-64, long mode): multiboot entry, long-mode switch, AP
 * trampoline, descriptor tables, interrupt stubs and the per-vCPU program interpreter.
 *
 * QEMU's multiboot loader takes only 32-bit ELF files, so the kernel is linked as ELF64
 * and converted with objcopy (as kvm-unit-tests does); the entry runs in 32-bit protected
 * mode, builds identity page tables (0-4 GiB, plus the top 2 GiB of the address space
 * aliased to physical 2-4 GiB so that sign-extended 32-bit absolute addresses such as the
 * APIC page work in instructions) and enters long mode.
 *
 * The interpreter is stackless between ops: all its state is in the per-CPU block
 * (through %gs). An interrupt taken in program mode records (vector, position) and the
 * program continues inside the handler: the handler makes a new nesting level on its
 * own stack and jumps back to loop_top. The interrupted level is never returned to in
 * the middle of an op: its frame's RIP is rewritten to `resume`, which restarts the
 * dispatch loop of that level once the program's `iret` op pops the frame. Every op
 * commits with one ADD to the state word; where an op's effect (its "key" instruction)
 * and that ADD are two instructions, the boundary between them is listed in .keytab so
 * the handler can account for the op as executed. While an op runs, %ebx holds its
 * first word and %r12d its data word (both callee-saved, so C helpers keep them). */
#include "defs.h"

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

/* KEY delta: the boundary here comes after an op's effect and before its commit. */
.macro KEY delta
.Lkey\@:
	.pushsection .keytab, "a"
	.balign 8
	.quad .Lkey\@, \delta
	.popsection
.endm

/* 32-bit absolute addresses above 2 GiB as sign-extended displacements (the top-2-GiB alias). */
	.equ APICB, APIC_BASE - 0x100000000
	.equ IOAPICB, IOAPIC_BASE - 0x100000000
	.equ NPFB, NPF_ADDR - 0x100000000
	.equ TESTDEVB, TESTDEV_IRQ
	.equ UNUSEDP, UNUSED_PORT
	.section .note.GNU-stack, "", @progbits

/* Return from an interrupt frame [RIP, CS, RFLAGS, RSP, SS] without IRET (for
 * hypervisors that cannot emulate IRET, see docs/real-replay.md). Entered with IF = 0;
 * the final jump runs in the STI shadow so nothing lands between the two. */
.macro POPRET
	popq %gs:PC_SCRATCH
	addq $8, %rsp
	popq %gs:PC_SCRFL
	popq %gs:PC_SCRSP
	movq %gs:PC_SCRSP, %rsp
	btrq $9, %gs:PC_SCRFL
	jc 98f
	pushq %gs:PC_SCRFL
	popfq
	jmp *%gs:PC_SCRATCH
98:	pushq %gs:PC_SCRFL
	popfq
	sti
	jmp *%gs:PC_SCRATCH
.endm

.macro IRETX
	cmpl $0, noiret(%rip)
	jne 97f
	iretq
97:	cli
	POPRET
.endm

.macro SAVE
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
.endm
.macro RESTORE
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
.endm

/* ---------------- 32-bit entry: page tables, long mode ---------------- */
	.text
	.code32
	.globl _start
_start:
	cli
	movl $(boot_stack + STACK_SIZE), %esp
	movl %eax, mb_magic
	movl %ebx, mb_info
	/* PD entries: 2 MiB pages identity-mapping 0-4 GiB; the top GiB (MMIO) uncached. */
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax
	cmpl $1536, %ecx
	jb 2f
	orl $0x18, %eax
2:	movl %eax, pd(,%ecx,8)
	movl %ecx, %eax
	shrl $11, %eax
	movl %eax, pd+4(,%ecx,8)
	incl %ecx
	cmpl $2048, %ecx
	jb 1b
	/* PDPT (low): 4 x 1 GiB; PDPT (high): entries 510, 511 alias physical 2-4 GiB. */
	xorl %ecx, %ecx
3:	movl %ecx, %eax
	shll $12, %eax
	addl $(pd + 3), %eax
	movl %eax, pdpt_lo(,%ecx,8)
	incl %ecx
	cmpl $4, %ecx
	jb 3b
	movl $(pd + 2 * 4096 + 3), pdpt_hi + 510 * 8
	movl $(pd + 3 * 4096 + 3), pdpt_hi + 511 * 8
	movl $(pdpt_lo + 3), pml4
	movl $(pdpt_hi + 3), pml4 + 511 * 8
	call enter_long
	.code64
	movq $(boot_stack + STACK_SIZE), %rsp
	movl mb_magic(%rip), %edi
	movl mb_info(%rip), %esi
	call kmain
1:	cli
	hlt
	jmp 1b

	.code32
/* From 32-bit protected mode (flat segments, paging off) to 64-bit mode; returns in 64-bit
 * code to the caller's next instruction (the return address is 32 bits on the stack). */
enter_long:
	lgdt gdt_desc                    /* ours: the multiboot loader's GDT has no 64-bit code segment */
	movl %cr4, %eax
	orl $0x20, %eax                  /* PAE */
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $0xC0000080, %ecx           /* EFER.LME */
	rdmsr
	orl $0x100, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax            /* PG | PE */
	movl %eax, %cr0
	ljmpl $SEL_CODE64, $1f
	.code64
1:	movw $SEL_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %esp, %esp                  /* upper halves are undefined after the switch */
	movl (%rsp), %eax                /* 32-bit return address */
	addq $4, %rsp
	jmp *%rax

/* ---------------- AP trampoline (copied to 0x8000, entered by SIPI vector 8) ---------------- */
	.globl tramp_start, tramp_end
	.code16
tramp_start:
	cli
	xorw %ax, %ax
	movw %ax, %ds
	lgdtl (tramp_gdtr - tramp_start + 0x8000)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $SEL_CODE32, $ap_entry32
	.align 4
tramp_gdtr:
	.word gdt_end - gdt - 1
	.long gdt
tramp_end:

	.code32
ap_entry32:
	movw $SEL_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl APIC_BASE + 0x20, %eax      /* xAPIC ID (the APs start in xAPIC mode) */
	shrl $24, %eax
	movl %eax, %edi
	movl %eax, %ecx
	incl %ecx
	shll $16, %ecx                   /* STACK_SIZE == 0x10000 */
	leal stacks(%ecx), %esp
	call enter_long
	.code64
	movl %edi, %edi
	movq %rsp, %rax
	andq $-16, %rax
	movq %rax, %rsp
	call ap_main
1:	cli
	hlt
	jmp 1b

/* ---------------- GDT ---------------- */
	.data
	.align 16
	.globl gdt
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff      /* 0x08 code, 32-bit */
	.quad 0x00cf92000000ffff      /* 0x10 data */
	.quad 0x00af9a000000ffff      /* 0x18 code, 64-bit */
gdt_end:
	.globl gdt_desc
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt
mb_magic: .long 0
mb_info: .long 0

/* ---------------- interrupt stubs ---------------- */
	.text
	.code64
	.align 32
	.globl stubs_start, stubs_end
stubs_start:
.set vec, 0
.rept 256
	.align 32
	movl $(vec + 1), %gs:PC_INPRO
	jmp common_entry
.set vec, vec + 1
.endr
	.align 32
stubs_end:

common_entry:
	SAVE
	movq %rsp, %rdi
	call fixed_c
	testq %rax, %rax
	jnz 1f
	RESTORE
	IRETX
1:	movq %rax, %rsp
	movl $0, %gs:PC_INPRO
	cmpl $0, %gs:PC_NMIDEF
	je 2f
	/* An NMI arrived during the prologue and was held (NMIs are still blocked):
	 * take it now, at the same boundary, on a fabricated frame. */
	movl $0, %gs:PC_NMIDEF
	jmp take_held_nmi
2:	jmp loop_top

/* Take a held NMI on a fabricated frame [resume, CS, RFLAGS (IF as now), RSP, SS] and
 * continue the program in its handler. */
take_held_nmi:
	movq %rsp, %rax
	pushq $SEL_DATA
	pushq %rax
	pushfq
	pushq $SEL_CODE64
	leaq resume(%rip), %rax
	pushq %rax
	SAVE
	movq %rsp, %rdi
	call nmi_deferred_c
	movq %rax, %rsp
	jmp loop_top

	.globl nmi_stub
nmi_stub:
	SAVE
	movq %rsp, %rdi
	call nmi_c
	cmpq $1, %rax
	ja 3f
	je 2f
	RESTORE
	IRETX
2:	/* held: return to the interrupted code without IRET, so NMIs stay blocked */
	RESTORE
	POPRET
3:	movq %rax, %rsp
	jmp loop_top

/* Reached by a real IRET from a nesting level: continue this level's dispatch. */
	.globl resume
resume:
	movl $0, %gs:PC_NMIBLK
	movl %gs:PC_STATE, %eax
	shrl $ST_DEPTH_SHIFT, %eax
	andl $ST_DEPTH_MASK, %eax
	movq %gs:PC_LVLLOOP(,%rax,8), %rsp
	jmp loop_top

/* Start the program at position 0. NMIs that arrived since the start barrier were held
 * (MODE_START); one that lands inside [start_program, start_program_end) is taken at
 * position 0 with the program's IF = 1 (kernel.c nmi_c). */
	.globl start_program, start_program_end
start_program:
	movq %rdi, %rsp
	movl $MODE_PROG, %gs:PC_MODE
	cmpl $0, %gs:PC_NMIDEF
	jne 1f
	sti
	jmp loop_top
1:	movl $0, %gs:PC_NMIDEF
	movq %rsp, %rax
	pushq $SEL_DATA
	pushq %rax
	pushq $0x202
	pushq $SEL_CODE64
	leaq resume(%rip), %rax
	pushq %rax
	SAVE
	movq %rsp, %rdi
	call nmi_deferred_c
	movq %rax, %rsp
	jmp loop_top
start_program_end:

/* ---------------- the interpreter ---------------- */
	.globl loop_top
loop_top:
	movl %gs:PC_STATE, %eax
	andl $ST_PC_MASK, %eax
	cmpl %gs:PC_NOPS, %eax
	jae program_end
	movq %gs:PC_OPS, %rdx
	movl 4(%rdx,%rax,8), %r12d
	movl (%rdx,%rax,8), %ebx
	movzbl %bl, %eax
	cmpl $OP_MAX, %eax
	jae bad_op
	movq optab(%rip), %rcx
	jmp *(%rcx,%rax,8)

bad_op:
	cli
	call bad_op_c
program_end:
	cli
	call end_phase_c
1:	hlt
	jmp 1b

/* A simple op: prep; key; commit. Fused with a pending STI: prep; sti; key; commit. */
.macro SIMPLE name, prep, key
	.globl op_\name
op_\name:
	testl $ST_FUSE, %gs:PC_STATE
	jnz 1f
	\prep
	\key
	KEY PC1
	addl $PC1, %gs:PC_STATE
	jmp loop_top
1:	\prep
	sti
	\key
	KEY (PC1 - ST_FUSE)
	addl $(PC1 - ST_FUSE), %gs:PC_STATE
	jmp loop_top
.endm

SIMPLE ipi_x2, "movzbl %bh, %edx; movl %r12d, %eax; movl $0x830, %ecx", "wrmsr"
SIMPLE ipi_xa, "call xapic_icr_wait; movzbl %bh, %edx; shll $24, %edx; movl %edx, APICB+0x310", "movl %r12d, APICB+0x300"
SIMPLE eoi_x2, "xorl %eax, %eax; xorl %edx, %edx; movl $0x80b, %ecx", "wrmsr"
SIMPLE eoi_xa, "xorl %eax, %eax", "movl %eax, APICB+0xb0"
SIMPLE tpr_x2, "movl %r12d, %eax; xorl %edx, %edx; movl $0x808, %ecx", "wrmsr"
SIMPLE tpr_xa, "movl %r12d, %eax", "movl %eax, APICB+0x80"
SIMPLE cr8, "movl %r12d, %eax", "movq %rax, %cr8"
SIMPLE selfipi_x2, "movl %r12d, %eax; xorl %edx, %edx; movl $0x83f, %ecx", "wrmsr"
SIMPLE selfipi_xa, "call xapic_icr_wait; movl %r12d, %eax; orl $0x44000, %eax", "movl %eax, APICB+0x300"
/* lapic_write / lvt_lint: one MMIO write or WRMSR (the harness restores the registers between
 * scenarios, kernel.c restore_programmed). */
SIMPLE lapicw_x2, "movzbl %bh, %ecx; addl $0x800, %ecx; movl %r12d, %eax; xorl %edx, %edx", "wrmsr"
SIMPLE lapicw_xa, "movzbl %bh, %edx; shll $4, %edx; movl %r12d, %eax", "movl %eax, APICB(%rdx)"
/* ioapic_write: IOREGSEL/IOWIN for the high dword (destination), then for the low dword, whose
 * IOWIN write is the key. Re-running the prep after an interruption is idempotent. */
SIMPLE ioapicw, "movzbl %bh, %eax; shll $1, %eax; addl $0x11, %eax; movl %eax, IOAPICB; movl %ebx, %eax; shrl $16, %eax; andl $0xff, %eax; shll $24, %eax; movl %eax, IOAPICB+0x10; movzbl %bh, %eax; shll $1, %eax; addl $0x10, %eax; movl %eax, IOAPICB; movl %r12d, %eax", "movl %eax, IOAPICB+0x10"
SIMPLE cli, "", "cli"
SIMPLE nop, "", "nop"
SIMPLE work, "movzbl %bh, %eax", "movl $1, flags(,%rax,4)"
SIMPLE out, "movb $0, %al", "outb %al, $UNUSEDP"
SIMPLE cpuid, "xorl %eax, %eax; xorl %ecx, %ecx", "cpuid"
SIMPLE pause, "", "pause"
SIMPLE npf, "", "movl NPFB, %eax"
SIMPLE msi, "movl %ebx, %eax; shrl $16, %eax; movzbl %al, %eax; movl %r12d, %edx", "movl %eax, APICB(%rdx)"
SIMPLE pin, "movzbl %bh, %edx; addl $TESTDEVB, %edx; movl %ebx, %eax; shrl $16, %eax", "outb %al, %dx"
SIMPLE ioregw, "movzbl %bh, %eax; movl %eax, IOAPICB; movl %r12d, %eax", "movl %eax, IOAPICB+0x10"
SIMPLE pinmask, "movzbl %bh, %eax; shll $1, %eax; addl $0x10, %eax; movl %eax, IOAPICB; movl %ebx, %eax; shrl $16, %eax; andl $1, %eax; shll $16, %eax; orl %r12d, %eax", "movl %eax, IOAPICB+0x10"

	.globl op_sti
op_sti:
	testl $ST_FUSE, %gs:PC_STATE
	jnz 2f
	pushfq
	popq %rax
	testl $0x200, %eax
	jnz 1f
	/* IF = 0: the STI is executed fused with the next op, right before its key
	 * instruction, so that its shadow covers exactly that op. */
	addl $(PC1 + ST_FUSE), %gs:PC_STATE
	jmp loop_top
1:	sti
	KEY PC1
	addl $PC1, %gs:PC_STATE
	jmp loop_top
2:	sti
	sti
	KEY (PC1 - ST_FUSE)
	addl $(PC1 - ST_FUSE), %gs:PC_STATE
	jmp loop_top

/* HLT. With IF = 1 and NMIs unblocked: a real HLT; the watchdog CPU ends one that nothing
 * wakes with an NMI (kernel.c nmi_c). Otherwise (IF = 0, NMIs blocked, or no IRET) an
 * emulated HLT: a loop only what would wake the HLT can interrupt, which the watchdog
 * ends through PC_STUCKREQ. PC_HLT holds the start TSC, bit 0 set for a real HLT. */
	.globl op_hlt, hlt_after, hltf_after, hlt_spin_start, hlt_spin_end, hltf_spin_start, hltf_spin_end, hlt_stuck_tramp
.macro HLTSTAMP real
	rdtsc
	shlq $32, %rdx
	orq %rdx, %rax
	andq $-4, %rax
	orq $(2 - \real), %rax
	movl $0, %gs:PC_STUCKREQ
	movq %rax, %gs:PC_HLT
.endm
op_hlt:
	testl $ST_FUSE, %gs:PC_STATE
	jnz 5f
	testb %bh, %bh
	jnz 2f
	pushfq
	popq %rax
	testl $0x200, %eax
	jz 2f
	cmpl $0, %gs:PC_NMIBLK
	jne 2f
	cmpl $0, noiret(%rip)
	jne 2f
	HLTSTAMP 1
	hlt
hlt_after:
	KEY PC1
	addl $PC1, %gs:PC_STATE
	movq $0, %gs:PC_HLT
	jmp loop_top
2:	HLTSTAMP 0
hlt_spin_start:
	cmpl $0, %gs:PC_STUCKREQ
	jne 3f
	pause
	jmp hlt_spin_start
hlt_spin_end:
3:	cli
	call hlt_stuck_c
5:	/* fused STI; HLT */
	testb %bh, %bh
	jnz 6f
	cmpl $0, %gs:PC_NMIBLK
	jne 6f
	cmpl $0, noiret(%rip)
	jne 6f
	HLTSTAMP 1
	sti
	hlt
hltf_after:
	KEY (PC1 - ST_FUSE)
	addl $(PC1 - ST_FUSE), %gs:PC_STATE
	movq $0, %gs:PC_HLT
	jmp loop_top
6:	HLTSTAMP 0
	sti
hltf_spin_start:
	cmpl $0, %gs:PC_STUCKREQ
	jne 7f
	pause
	jmp hltf_spin_start
hltf_spin_end:
7:	cli
	call hlt_stuck_c
hlt_stuck_tramp:                    /* the watchdog NMI returns here (IF = 0) after a real HLT never woke */
	KEY PC1
	cli
	call hlt_stuck_c

	.globl op_iret, iret_key, iretf_a, iretf_b
op_iret:
	movl %gs:PC_STATE, %eax
	shrl $ST_DEPTH_SHIFT, %eax
	andl $ST_DEPTH_MASK, %eax
	testl %eax, %eax
	jz 3f
	movq %gs:PC_LVLFRAME(,%rax,8), %rsp
	cmpl $0, noiret(%rip)
	jne 5f
	testl $ST_FUSE, %gs:PC_STATE
	jnz 2f
	addl $(PC1 - DEPTH1), %gs:PC_STATE
iret_key:
	KEY (-(PC1 - DEPTH1))
	iretq
2:	addl $(PC1 - DEPTH1 - ST_FUSE), %gs:PC_STATE
iretf_a:
	KEY (-(PC1 - DEPTH1 - ST_FUSE))
	sti
iretf_b:
	KEY (-(PC1 - DEPTH1))
	iretq
5:	/* without IRET: commit, then pop the frame with interrupts off */
	testl $ST_FUSE, %gs:PC_STATE
	jnz 6f
	addl $(PC1 - DEPTH1), %gs:PC_STATE
	KEY (-(PC1 - DEPTH1))
	cli
	POPRET
6:	addl $(PC1 - DEPTH1 - ST_FUSE), %gs:PC_STATE
	KEY (-(PC1 - DEPTH1 - ST_FUSE))
	cli
	POPRET
3:	/* no frame: a no-op */
	testl $ST_FUSE, %gs:PC_STATE
	jnz 4f
	addl $PC1, %gs:PC_STATE
	jmp loop_top
4:	sti
	nop
	KEY (PC1 - ST_FUSE)
	addl $(PC1 - ST_FUSE), %gs:PC_STATE
	jmp loop_top

/* INT n: a jump into the stub of vector n, whose INT is the op's key instruction (the
 * handler it enters commits the op through .keytab and records the entry at the next
 * position). With a pending fused STI the stub is `sti; int $n`, so the shadow covers
 * exactly the INT. The stubs never continue: the program goes on inside the handler. */
	.globl op_int
op_int:
	movl %r12d, %eax
	andl $0xff, %eax
	shll $3, %eax
	testl $ST_FUSE, %gs:PC_STATE
	jnz 1f
	leaq int_stubs(%rip), %rcx
	addq %rcx, %rax
	jmp *%rax
1:	leaq int_stubs_f(%rip), %rcx
	addq %rcx, %rax
	jmp *%rax

	.balign 8
int_stubs:
.set vec, 0
.rept 256
	.balign 8
	.byte 0xcd, vec
	KEY PC1
	ud2
.set vec, vec + 1
.endr
	.balign 8
int_stubs_f:
.set vec, 0
.rept 256
	.balign 8
	sti
	.byte 0xcd, vec
	KEY (PC1 - ST_FUSE)
	ud2
.set vec, vec + 1
.endr

	.globl op_read
op_read:
	movzbl %bh, %edi
	movl %ebx, %esi
	shrl $16, %esi
	andl $0xff, %esi
	call read_op                      /* writes the record past the log end, returns its length */
	shll $ST_LOG_SHIFT, %eax
	addl $PC1, %eax
	testl $ST_FUSE, %gs:PC_STATE
	jnz 1f
	addl %eax, %gs:PC_STATE
	jmp loop_top
1:	subl $ST_FUSE, %eax
	sti
	addl %eax, %gs:PC_STATE
	jmp loop_top

/* wait: spin until the flag is set, or give up (backstop timeout, or the watchdog saw
 * every vCPU idle). Once the flag is seen, wait_seen settles for the batch's settle time
 * so that messages sent before the matching work have landed (docs/real-replay.md). */
	.globl op_wait
op_wait:
	movzbl %bh, %edi
	call wait_begin
1:	movzbl %bh, %ecx
	cmpl $0, flags(,%rcx,4)
	jne 3f
	pause
	call wait_check
	testl %eax, %eax
	jz 1b
	call wait_timeout_rec             /* returns the delta that commits the op and its record */
	testl $ST_FUSE, %gs:PC_STATE
	jnz 4f
	addl %eax, %gs:PC_STATE
	jmp loop_top
4:	subl $ST_FUSE, %eax
	sti
	addl %eax, %gs:PC_STATE
	jmp loop_top
3:	call wait_seen
	testl $ST_FUSE, %gs:PC_STATE
	jnz 5f
	addl $PC1, %gs:PC_STATE
	jmp loop_top
5:	sti
	addl $(PC1 - ST_FUSE), %gs:PC_STATE
	jmp loop_top

/* Execute an IRET to the next instruction: unblocks NMIs, keeps IF. */
	.globl synthetic_iret
synthetic_iret:
	cmpl $0, noiret(%rip)
	jne 1f
	movq %rsp, %rax
	pushq $SEL_DATA
	pushq %rax
	pushfq
	pushq $SEL_CODE64
	leaq 1f(%rip), %rax
	pushq %rax
	iretq
1:	ret

/* Restart the scenario loop on a fresh stack (the open frames are discarded). */
	.globl restart_on
restart_on:
	movq %rdi, %rsp
	call *%rsi
1:	cli
	hlt
	jmp 1b

	.section .rodata
	.align 8
	.globl optab_x2, optab_xa
optab_x2:
	.quad bad_op, op_ipi_x2, op_eoi_x2, op_tpr_x2, op_cli, op_sti, op_nop, op_hlt, op_iret
	.quad op_read, op_work, op_wait, op_out, op_cpuid, op_msi, op_pin, op_pinmask, op_pause, op_cr8, op_npf
	.quad op_selfipi_x2, op_int, op_lapicw_x2, op_ioapicw, op_ioregw
optab_xa:
	.quad bad_op, op_ipi_xa, op_eoi_xa, op_tpr_xa, op_cli, op_sti, op_nop, op_hlt, op_iret
	.quad op_read, op_work, op_wait, op_out, op_cpuid, op_msi, op_pin, op_pinmask, op_pause, op_cr8, op_npf
	.quad op_selfipi_xa, op_int, op_lapicw_xa, op_ioapicw, op_ioregw

	.bss
	.align 4096
	.globl pml4, pdpt_lo, pdpt_hi, pd
pml4: .skip 4096
pdpt_lo: .skip 4096
pdpt_hi: .skip 4096
pd: .skip 4 * 4096
	.globl boot_stack, stacks
boot_stack:
	.skip STACK_SIZE
stacks:
	.skip STACK_SIZE * (MAX_CPUS + 1)
