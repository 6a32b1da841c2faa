/** wt.nn: modules, layers, initializers (wt.nn.init) and losses / penalties (wt.nn.functional). */
export { Module } from './module';
