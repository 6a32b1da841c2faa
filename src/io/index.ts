/**
 * wt.io: checkpoints in safetensors (model state dict under PyTorch's keys, optimizer state, step,
 * random generator, user metadata, a SHA-256 checksum) and the safetensors codec itself.
 */
export { save, load, toBytes, toBlob, fromBytes, CHECKPOINT_VERSION } from './checkpoint';
export type { CheckpointContents, LoadOptions, LoadedCheckpoint, RngState, WritableFileHandle } from './checkpoint';
export { encodeSafetensors, decodeSafetensors, SAFETENSORS_DTYPES, MAX_HEADER_BYTES } from './safetensors';
export type { SafetensorsDType, SafetensorsData, SafetensorsTensor, DecodedSafetensors, SafetensorsInput } from './safetensors';
