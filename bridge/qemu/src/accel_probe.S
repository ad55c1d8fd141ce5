# The accelerator probe guest (see accel.cpp): a boot sector that goes from real mode to protected
# mode to long mode with paging, runs a 50-million-iteration loop that writes memory, then writes
# 0x21 to isa-debug-exit (QEMU exits with status 67) and halts. Assembled with
#   as --32 accel_probe.S -o p.o && objcopy -O binary -j .text p.o p.bin
# and embedded in accel.cpp as bytes. Under TCG it finishes in about 0.4 s; under a KVM that
# "hangs" real kernels it never finishes.
# Boot sector: real mode -> protected mode -> long mode with paging, then OUT to isa-debug-exit.
.code16
.org 0
  cli
  xor %ax, %ax
  mov %ax, %ds
  mov %ax, %es
  # page tables at 0x1000 (PML4), 0x2000 (PDPT), 0x3000 (PD): identity-map 2 MiB with one large page
  mov $0x1000, %di
  mov $0x1800, %cx
  xor %eax, %eax
  rep stosw
  movl $0x2003, 0x1000
  movl $0x3003, 0x2000
  movl $0x0083, 0x3000
  lgdt gdt_desc + 0x7c00
  mov %cr0, %eax
  or $1, %al
  mov %eax, %cr0
  ljmp $0x08, $(pm + 0x7c00)
.code32
pm:
  mov $0x10, %ax
  mov %ax, %ds
  mov %ax, %ss
  mov %cr4, %eax
  or $0x20, %eax          # PAE
  mov %eax, %cr4
  mov $0x1000, %eax
  mov %eax, %cr3
  mov $0xC0000080, %ecx   # EFER
  rdmsr
  or $0x100, %eax         # LME
  wrmsr
  mov %cr0, %eax
  or $0x80000000, %eax    # PG
  mov %eax, %cr0
  ljmp $0x18, $(lm + 0x7c00)
.code64
lm:
  mov $50000000, %rcx
2: mov %rcx, 0x4000
  dec %rcx
  jnz 2b
  mov $0x21, %al
  out %al, $0xf4
1: hlt
  jmp 1b
.align 8
gdt:
  .quad 0
  .quad 0x00cf9a000000ffff
  .quad 0x00cf92000000ffff
  .quad 0x00af9a000000ffff
gdt_desc:
  .word 31
  .long gdt + 0x7c00
.org 510
  .byte 0x55, 0xaa
