// Control of the process's malloc where tcmalloc serves it (the kfold executable links it): whether freed memory
// is kept for reuse, and asking for it to be handed back at once (the memory guard does when memory is tight).
#pragma once

namespace kfold::kernels {

// True when tcmalloc serves this process's malloc and keeps freed memory for reuse (its default, and why
// the kfold executable links it: no page faults for each new large tensor).
bool malloc_retains_freed_memory();
// Asks tcmalloc to hand freed memory back to the system at once (tcmalloc.aggressive_memory_decommit, as
// TCMALLOC_AGGRESSIVE_DECOMMIT=true): less resident memory, slower. False when not on tcmalloc.
bool malloc_release_freed_memory();
// Under glibc's malloc, hands the pages of freed heap memory back to the system (malloc_trim(0): glibc keeps them
// while small live blocks sit among them); nothing under tcmalloc, which follows its own setting.
void trim_freed_heap_memory();

}  // namespace kfold::kernels
