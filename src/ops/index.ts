// Every op builder; importing this module also registers every op with the executor.
// (Append one line per op module.)
export * from './binary.ts';
