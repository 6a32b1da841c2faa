/** wt.optim: optimizers as fused kernels over parameter arenas, schedules, SWA, Newton. */
export {};
