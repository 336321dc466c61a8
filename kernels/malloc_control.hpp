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

}  // namespace kfold::kernels
