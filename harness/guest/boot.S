/* irqdiff guest test kernel: multiboot entry, AP trampoline, descriptor tables,
 * interrupt stubs and the per-vCPU program interpreter.
 *
 * The interpreter is stackless between ops: all its state is in the per-CPU block
 * (through %fs). An interrupt taken in program mode records (vector, position) and the
 * program continues inside the handler: the handler makes a new nesting level on its
 * own stack and jumps back to loop_top. The interrupted level is never returned to in
 * the middle of an op: its frame's EIP is rewritten to `resume`, which restarts the
 * dispatch loop of that level once the program's `iret` op pops the frame. Every op
 * commits with one ADD to the state word; where an op's effect (its "key" instruction)
 * and that ADD are two instructions, the boundary between them is listed in .keytab so
 * the handler can account for the op as executed. */
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
	.balign 4
	.long .Lkey\@, \delta
	.popsection
.endm

	.equ APICB, APIC_BASE
	.equ IOAPICB, IOAPIC_BASE
	.equ TESTDEVB, TESTDEV_IRQ
	.section .note.GNU-stack, "", @progbits

/* Return from an interrupt frame [EIP, CS, EFLAGS] without IRET (for hypervisors
 * that cannot emulate a protected-mode IRET, see docs/real-replay.md). Entered with
 * IF = 0; the final jump runs in the STI shadow so nothing lands between the two. */
.macro POPRET
	popl %fs:PC_SCRATCH
	addl $4, %esp
	btrl $9, (%esp)
	jc 98f
	popfl
	jmp *%fs:PC_SCRATCH
98:	popfl
	sti
	jmp *%fs:PC_SCRATCH
.endm

.macro IRETX
	cmpl $0, noiret
	jne 97f
	iret
97:	cli
	POPRET
.endm

	.text
	.code32
	.globl _start
_start:
	cli
	movl $(boot_stack + STACK_SIZE), %esp
	pushl $0
	popfl
	pushl %ebx            /* multiboot info */
	pushl %eax            /* magic */
	call kmain
1:	cli
	hlt
	jmp 1b

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
	ljmpl $0x08, $ap_entry32
	.align 4
tramp_gdtr:
	.word gdt_end - gdt - 1
	.long gdt
tramp_end:

	.code32
ap_entry32:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %gs
	movl APIC_BASE + 0x20, %eax      /* xAPIC ID (the APs start in xAPIC mode) */
	shrl $24, %eax
	movl %eax, %ecx
	incl %ecx
	shll $16, %ecx                   /* STACK_SIZE == 0x10000 */
	leal stacks(%ecx), %esp
	pushl %eax
	call ap_main
1:	cli
	hlt
	jmp 1b

/* ---------------- GDT: flat code/data plus one %fs segment per CPU ---------------- */
	.data
	.align 16
	.globl gdt
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff      /* 0x08 code */
	.quad 0x00cf92000000ffff      /* 0x10 data */
	.globl gdt_percpu
gdt_percpu:
	.fill MAX_CPUS, 8, 0          /* 0x18 + 8*i, filled by kmain */
gdt_end:
	.globl gdt_desc
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

/* ---------------- interrupt stubs ---------------- */
	.text
	.align 16
	.globl stubs_start, stubs_end
stubs_start:
.set vec, 0
.rept 256
	.align 16
	movl $(vec + 1), %fs:PC_INPRO
	jmp common_entry
.set vec, vec + 1
.endr
	.align 16
stubs_end:

common_entry:
	pushal
	pushl %esp
	call fixed_c
	addl $4, %esp
	testl %eax, %eax
	jnz 1f
	popal
	IRETX
1:	movl %eax, %esp
	movl $0, %fs:PC_INPRO
	cmpl $0, %fs:PC_NMIDEF
	je 2f
	/* An NMI arrived during the prologue and was held (NMIs are still blocked):
	 * take it now, at the same boundary, on a fabricated frame. */
	movl $0, %fs:PC_NMIDEF
	pushfl
	pushl %cs
	pushl $resume
	pushal
	pushl %esp
	call nmi_deferred_c
	movl %eax, %esp
2:	jmp loop_top

	.globl nmi_stub
nmi_stub:
	pushal
	pushl %esp
	call nmi_c
	addl $4, %esp
	cmpl $1, %eax
	ja 3f
	je 2f
	popal
	IRETX
2:	/* deferred: return to the prologue without IRET, so NMIs stay blocked */
	popal
	popl %fs:PC_SCRATCH
	addl $4, %esp
	popfl
	jmp *%fs:PC_SCRATCH
3:	movl %eax, %esp
	jmp loop_top

/* Reached by a real IRET from a nesting level: continue this level's dispatch. */
	.globl resume
resume:
	movl $0, %fs:PC_NMIBLK
	movl %fs:PC_STATE, %eax
	shrl $ST_DEPTH_SHIFT, %eax
	andl $ST_DEPTH_MASK, %eax
	movl %fs:PC_LVLLOOP(,%eax,4), %esp
	jmp loop_top

/* ---------------- the interpreter ---------------- */
	.globl loop_top, enter_program
enter_program:                      /* (esp is already the level-0 loop stack) */
loop_top:
	movl %fs:PC_STATE, %eax
	andl $ST_PC_MASK, %eax
	cmpl %fs:PC_NOPS, %eax
	jae program_end
	movl %fs:PC_OPS, %edx
	movl 4(%edx,%eax,8), %esi
	movl (%edx,%eax,8), %ebx
	movzbl %bl, %eax
	cmpl $OP_MAX, %eax
	jae bad_op
	movl optab, %ecx
	jmp *(%ecx,%eax,4)

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
	testl $ST_FUSE, %fs:PC_STATE
	jnz 1f
	\prep
	\key
	KEY PC1
	addl $PC1, %fs:PC_STATE
	jmp loop_top
1:	\prep
	sti
	\key
	KEY (PC1 - ST_FUSE)
	addl $(PC1 - ST_FUSE), %fs:PC_STATE
	jmp loop_top
.endm

SIMPLE ipi_x2, "movzbl %bh, %edx; movl %esi, %eax; movl $0x830, %ecx", "wrmsr"
SIMPLE ipi_xa, "call xapic_icr_wait; movzbl %bh, %edx; shll $24, %edx; movl %edx, APICB+0x310", "movl %esi, APICB+0x300"
SIMPLE eoi_x2, "xorl %eax, %eax; xorl %edx, %edx; movl $0x80b, %ecx", "wrmsr"
SIMPLE eoi_xa, "xorl %eax, %eax", "movl %eax, APICB+0xb0"
SIMPLE tpr_x2, "movl %esi, %eax; xorl %edx, %edx; movl $0x808, %ecx", "wrmsr"
SIMPLE tpr_xa, "movl %esi, %eax", "movl %eax, APICB+0x80"
SIMPLE cli, "", "cli"
SIMPLE nop, "", "nop"
SIMPLE work, "movzbl %bh, %eax", "movl $1, flags(,%eax,4)"
SIMPLE out, "movb $0, %al", "outb %al, $0x80"
SIMPLE cpuid, "xorl %eax, %eax; xorl %ecx, %ecx", "cpuid"
SIMPLE pause, "", "pause"
SIMPLE msi, "movl %ebx, %eax; shrl $16, %eax; movzbl %al, %eax", "movl %eax, APICB(%esi)"
SIMPLE pin, "movzbl %bh, %edx; addl $TESTDEVB, %edx; movl %ebx, %eax; shrl $16, %eax", "outb %al, %dx"
SIMPLE pinmask, "movzbl %bh, %eax; shll $1, %eax; addl $0x10, %eax; movl %eax, IOAPICB; movl %ebx, %eax; shrl $16, %eax; andl $1, %eax; shll $16, %eax; orl %esi, %eax", "movl %eax, IOAPICB+0x10"

	.globl op_sti
op_sti:
	testl $ST_FUSE, %fs:PC_STATE
	jnz 2f
	pushfl
	popl %eax
	testl $0x200, %eax
	jnz 1f
	/* IF = 0: the STI is executed fused with the next op, right before its key
	 * instruction, so that its shadow covers exactly that op. */
	addl $(PC1 + ST_FUSE), %fs:PC_STATE
	jmp loop_top
1:	sti
	KEY PC1
	addl $PC1, %fs:PC_STATE
	jmp loop_top
2:	sti
	sti
	KEY (PC1 - ST_FUSE)
	addl $(PC1 - ST_FUSE), %fs:PC_STATE
	jmp loop_top

	.globl op_hlt, hlt_after, hltf_after, hlt_spin_start, hlt_spin_end, hltf_spin_start, hltf_spin_end, hlt_stuck_tramp
op_hlt:
	testl $ST_FUSE, %fs:PC_STATE
	jnz 5f
	pushfl
	popl %eax
	testl $0x200, %eax
	jz 2f
	cmpl $0, %fs:PC_NMIBLK
	jne 2f
	cmpl $0, noiret
	jne 2f
	rdtsc
	movl %eax, %fs:PC_HLTLO
	movl %edx, %fs:PC_HLTHI
	hlt
hlt_after:
	KEY PC1
	addl $PC1, %fs:PC_STATE
	movl $0, %fs:PC_HLTHI
	movl $0, %fs:PC_HLTLO
	jmp loop_top
2:	/* IF = 0 or NMIs blocked: the watchdog NMI could not wake a real HLT; wait
	 * (observably the same: only what would wake the HLT can interrupt this loop). */
	call hlt_deadline
hlt_spin_start:
	rdtsc
	cmpl %fs:PC_DLHI, %edx
	ja 3f
	jb 4f
	cmpl %fs:PC_DLLO, %eax
	jae 3f
4:	pause
	jmp hlt_spin_start
hlt_spin_end:
3:	cli
	call hlt_stuck_c
5:	/* fused STI; HLT */
	cmpl $0, %fs:PC_NMIBLK
	jne 6f
	cmpl $0, noiret
	jne 6f
	rdtsc
	movl %eax, %fs:PC_HLTLO
	movl %edx, %fs:PC_HLTHI
	sti
	hlt
hltf_after:
	KEY (PC1 - ST_FUSE)
	addl $(PC1 - ST_FUSE), %fs:PC_STATE
	movl $0, %fs:PC_HLTHI
	movl $0, %fs:PC_HLTLO
	jmp loop_top
6:	call hlt_deadline
	sti
hltf_spin_start:
	rdtsc
	cmpl %fs:PC_DLHI, %edx
	ja 7f
	jb 8f
	cmpl %fs:PC_DLLO, %eax
	jae 7f
8:	pause
	jmp hltf_spin_start
hltf_spin_end:
7:	cli
	call hlt_stuck_c
hlt_stuck_tramp:                    /* the watchdog NMI returns here after a real HLT never woke */
	KEY PC1
	cli
	call hlt_stuck_c

	.globl op_iret, iret_key, iretf_a, iretf_b
op_iret:
	movl %fs:PC_STATE, %eax
	shrl $ST_DEPTH_SHIFT, %eax
	andl $ST_DEPTH_MASK, %eax
	testl %eax, %eax
	jz 3f
	movl %fs:PC_LVLFRAME(,%eax,4), %esp
	cmpl $0, noiret
	jne 5f
	testl $ST_FUSE, %fs:PC_STATE
	jnz 2f
	addl $(PC1 - DEPTH1), %fs:PC_STATE
iret_key:
	KEY (-(PC1 - DEPTH1))
	iret
2:	addl $(PC1 - DEPTH1 - ST_FUSE), %fs:PC_STATE
iretf_a:
	KEY (-(PC1 - DEPTH1 - ST_FUSE))
	sti
iretf_b:
	KEY (-(PC1 - DEPTH1))
	iret
5:	/* without IRET: commit, then pop the frame with interrupts off */
	testl $ST_FUSE, %fs:PC_STATE
	jnz 6f
	addl $(PC1 - DEPTH1), %fs:PC_STATE
	KEY (-(PC1 - DEPTH1))
	cli
	POPRET
6:	addl $(PC1 - DEPTH1 - ST_FUSE), %fs:PC_STATE
	KEY (-(PC1 - DEPTH1 - ST_FUSE))
	cli
	POPRET
3:	/* no frame: a no-op */
	testl $ST_FUSE, %fs:PC_STATE
	jnz 4f
	addl $PC1, %fs:PC_STATE
	jmp loop_top
4:	sti
	nop
	KEY (PC1 - ST_FUSE)
	addl $(PC1 - ST_FUSE), %fs:PC_STATE
	jmp loop_top

	.globl op_read
op_read:
	movzbl %bh, %eax
	pushl %eax
	call read_op                      /* writes the record past the log end, returns its length */
	addl $4, %esp
	shll $ST_LOG_SHIFT, %eax
	addl $PC1, %eax
	testl $ST_FUSE, %fs:PC_STATE
	jnz 1f
	addl %eax, %fs:PC_STATE
	jmp loop_top
1:	subl $ST_FUSE, %eax
	sti
	addl %eax, %fs:PC_STATE
	jmp loop_top

	.globl op_wait
op_wait:
	call wait_deadline
	movzbl %bh, %ecx
1:	cmpl $0, flags(,%ecx,4)
	jne 3f
	pause
	rdtsc
	cmpl %fs:PC_DLHI, %edx
	jb 1b
	ja 2f
	cmpl %fs:PC_DLLO, %eax
	jb 1b
2:	call wait_timeout_rec             /* returns the delta that commits the op and its record */
	testl $ST_FUSE, %fs:PC_STATE
	jnz 4f
	addl %eax, %fs:PC_STATE
	jmp loop_top
4:	subl $ST_FUSE, %eax
	sti
	addl %eax, %fs:PC_STATE
	jmp loop_top
3:	testl $ST_FUSE, %fs:PC_STATE
	jnz 5f
	addl $PC1, %fs:PC_STATE
	jmp loop_top
5:	sti
	addl $(PC1 - ST_FUSE), %fs:PC_STATE
	jmp loop_top

/* Execute an IRET to the next instruction: unblocks NMIs, keeps IF. */
	.globl synthetic_iret
synthetic_iret:
	cmpl $0, noiret
	jne 1f
	pushfl
	pushl %cs
	pushl $1f
	iret
1:	ret

/* Restart the scenario loop on a fresh stack (the open frames are discarded). */
	.globl restart_on
restart_on:
	movl 4(%esp), %eax
	movl 8(%esp), %ecx
	movl %eax, %esp
	call *%ecx
1:	cli
	hlt
	jmp 1b

	.section .rodata
	.align 4
	.globl optab_x2, optab_xa
optab_x2:
	.long bad_op, op_ipi_x2, op_eoi_x2, op_tpr_x2, op_cli, op_sti, op_nop, op_hlt, op_iret
	.long op_read, op_work, op_wait, op_out, op_cpuid, op_msi, op_pin, op_pinmask, op_pause
optab_xa:
	.long bad_op, op_ipi_xa, op_eoi_xa, op_tpr_xa, op_cli, op_sti, op_nop, op_hlt, op_iret
	.long op_read, op_work, op_wait, op_out, op_cpuid, op_msi, op_pin, op_pinmask, op_pause

	.bss
	.align 4096
	.globl boot_stack, stacks
boot_stack:
	.skip STACK_SIZE
stacks:
	.skip STACK_SIZE * (MAX_CPUS + 1)
