// Tensor element types, named as in PyTorch.
export type DType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'bool';

export type Device = 'cpu' | `cuda` | `cuda:${number}`;

// c10::ScalarType enumeration values, for ops taking a ScalarType argument.
export const scalarTypeId: Record<DType, number> = {
  uint8: 0,
  int8: 1,
  int16: 2,
  int32: 3,
  int64: 4,
  float16: 5,
  float32: 6,
  float64: 7,
  bool: 11,
  bfloat16: 15,
};

export function isFloating(d: DType): boolean {
  return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
}

export function elementSize(d: DType): number {
  switch (d) {
    case 'float64':
    case 'int64':
      return 8;
    case 'float32':
    case 'int32':
      return 4;
    case 'float16':
    case 'bfloat16':
    case 'int16':
      return 2;
    default:
      return 1;
  }
}
