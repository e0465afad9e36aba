// position_ids and padding_mask, against references written from
// transformers' definitions (arange for BERT and GPT-2; RoBERTa's
// create_position_ids_from_input_ids; attention_mask[:, None, None, :] != 0).
// Both outputs are integers or bools, so no case has a gradient.

function positionsRef([ids], { offset = 0, padding_idx: pad = -1 }) {
  const t = ids.shape[ids.shape.length - 1];
  const data = new Array(ids.data.length);
  for (let r = 0; r * t < ids.data.length; r++) {
    let seen = 0;
    for (let j = 0; j < t; j++) {
      const i = r * t + j;
      if (pad < 0) data[i] = offset + j;
      else if (ids.data[i] === pad) data[i] = pad;
      else data[i] = pad + offset + ++seen;
    }
  }
  return [{ shape: ids.shape, data }];
}

function paddingMaskRef([m]) {
  const [n, t] = m.shape;
  return [{ shape: [n, 1, 1, t], data: m.data.map((v) => (v !== 0 ? 1 : 0)) }];
}

const roberta = [0, 5, 9, 2, 1, 1, 0, 7, 2, 1, 1, 1];

export default [
  { op: 'position_ids', name: 'position_ids (N, T) i32', inputs: [{ shape: [3, 7], dtype: 'i32', range: [0, 50] }], ref: positionsRef },
  { op: 'position_ids', name: 'position_ids i64 with offset', inputs: [{ shape: [2, 5], dtype: 'i64', range: [0, 50] }], attrs: { offset: 4 }, ref: positionsRef },
  { op: 'position_ids', name: 'position_ids 1-D', inputs: [{ shape: [6], dtype: 'i32' }], ref: positionsRef },
  { op: 'position_ids', name: 'position_ids rank 3', inputs: [{ shape: [2, 3, 4], dtype: 'i32' }], ref: positionsRef },
  { op: 'position_ids', name: 'position_ids empty batch', inputs: [{ shape: [0, 4], dtype: 'i32' }], ref: positionsRef },
  {
    op: 'position_ids',
    name: 'position_ids RoBERTa padding (pad 1)',
    inputs: [{ shape: [2, 6], dtype: 'i64', values: roberta }],
    attrs: { padding_idx: 1 },
    ref: positionsRef,
  },
  {
    op: 'position_ids',
    name: 'position_ids RoBERTa padding with offset, i32',
    inputs: [{ shape: [2, 6], dtype: 'i32', values: roberta }],
    attrs: { padding_idx: 1, offset: 3 },
    ref: positionsRef,
  },
  { op: 'position_ids', name: 'position_ids long rows', inputs: [{ shape: [3, 5000], dtype: 'i32', range: [0, 3] }], attrs: { padding_idx: 0 }, ref: positionsRef },

  { op: 'padding_mask', name: 'padding_mask i32', inputs: [{ shape: [2, 5], dtype: 'i32', values: [1, 1, 1, 0, 0, 1, 1, 1, 1, 1] }], ref: paddingMaskRef },
  { op: 'padding_mask', name: 'padding_mask i64', inputs: [{ shape: [3, 4], dtype: 'i64', range: [0, 2] }], ref: paddingMaskRef },
  { op: 'padding_mask', name: 'padding_mask f32', inputs: [{ shape: [2, 3], values: [1, 0, 0.5, 0, 0, 1] }], ref: paddingMaskRef },
  { op: 'padding_mask', name: 'padding_mask bool', inputs: [{ shape: [1, 4], dtype: 'bool', values: [1, 0, 1, 1] }], ref: paddingMaskRef },
];

export const errors = [
  { op: 'position_ids', inputs: [{ shape: [2, 3] }], code: 'ERR_TG_DTYPE', message: 'ids must be i32 or i64' },
  { op: 'position_ids', inputs: [{ shape: [], dtype: 'i32' }], code: 'ERR_TG_SHAPE', message: 'at least 1 dim' },
  { op: 'position_ids', inputs: [{ shape: [2, 3], dtype: 'i32' }], attrs: { offset: -1 }, code: 'ERR_TG_ARG', message: "'offset'" },
  { op: 'position_ids', inputs: [{ shape: [2, 3], dtype: 'i32' }], attrs: { padding_idx: -2 }, code: 'ERR_TG_ARG', message: "'padding_idx'" },
  { op: 'padding_mask', inputs: [{ shape: [2, 3, 4], dtype: 'i32' }], code: 'ERR_TG_SHAPE', message: 'attention_mask must have shape (N, T)' },
];
