"""Hugging Face BERT parity for tg.fromPretrained (test/parity-bert.test.mjs).

The reference is BERT written here in plain torch, following transformers'
models/bert/modeling_bert.py operation for operation (eager attention with
the additive (1 - mask) * finfo.min mask, erf GELU, LayerNorm(x + residual),
tanh pooler, the masked-LM decoder tied to the word embeddings), with the
module names of BertModel, BertForSequenceClassification,
BertForTokenClassification and BertForMaskedLM. Widths are bert-base's
(hidden 768, 12 heads, intermediate 3072) with 2 layers; the vocabulary is cut
to 1000 except in the masked-LM case, which keeps bert-base-uncased's 30522.
Weights come from the shared hash generator (see vision.py), seeded per
parameter name, so the test rebuilds them bit for bit and writes them as a
Hugging Face folder. Dropout is 0, so training and eval mode agree.

RoBERTa (modeling_roberta.py: positions counted from padding_idx + 1, the
classification head on <s>, lm_head) and DistilBERT (modeling_distilbert.py)
follow at small widths (hidden 64), written the same way.

Per case: outputs (float32 and float64 torch), the loss, and one SGD step's
gradient statistics for the trainable parameters. Writes fixtures/bert.json;
run with Debian's python3."""
import base64
import copy
import json
import math
import os
import zlib

import torch
from torch import nn
from torch.nn import functional as F

torch.set_num_threads(2)

M32 = 0xFFFFFFFF


def gen(n, seed, scale, offset=0.0):
    """vision.py's generator: a 32-bit hash of (index, seed) in [-1, 1),
    scaled in double and rounded once to float32."""
    h = (torch.arange(n, dtype=torch.int64) * 0x9E3779B1 + seed * 0x632BE5AB) & M32
    h = h ^ (h >> 16)
    h = (h * 0x85EBCA6B) & M32
    h = h ^ (h >> 13)
    h = (h * 0xC2B2AE35) & M32
    h = h ^ (h >> 16)
    v = (h >> 8).double() / 8388608.0 - 1.0
    return (v * scale + offset).float()


def b64(t):
    return base64.b64encode(t.detach().float().contiguous().numpy().tobytes()).decode()


# ---- BERT, as modeling_bert.py computes it ----


class Config:
    def __init__(self, **kw):
        self.vocab_size = 1000
        self.hidden_size = 768
        self.num_hidden_layers = 2
        self.num_attention_heads = 12
        self.intermediate_size = 3072
        self.hidden_act = 'gelu'
        self.hidden_dropout_prob = 0.0
        self.attention_probs_dropout_prob = 0.0
        self.max_position_embeddings = 512
        self.type_vocab_size = 2
        self.initializer_range = 0.02
        self.layer_norm_eps = 1e-12
        self.pad_token_id = 0
        self.num_labels = 2
        self.__dict__.update(kw)

    def to_json(self, architecture):
        d = {k: v for k, v in self.__dict__.items() if k != 'num_labels'}
        d.update(model_type=self.__dict__.get('model_type', 'bert'), architectures=[architecture], position_embedding_type='absolute',
                 id2label={str(i): f'LABEL_{i}' for i in range(self.num_labels)},
                 label2id={f'LABEL_{i}': i for i in range(self.num_labels)})
        return d


class BertEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids):
        position_ids = torch.arange(input_ids.shape[1])[None, :]
        embeddings = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        embeddings = embeddings + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(embeddings))


class BertSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.num_heads = c.num_attention_heads
        self.head_size = c.hidden_size // c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)
        self.dropout = nn.Dropout(c.attention_probs_dropout_prob)

    def heads(self, x):
        return x.view(x.shape[0], x.shape[1], self.num_heads, self.head_size).permute(0, 2, 1, 3)

    def forward(self, hidden, extended_mask):
        q, k, v = self.heads(self.query(hidden)), self.heads(self.key(hidden)), self.heads(self.value(hidden))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_size) + extended_mask
        probs = self.dropout(F.softmax(scores, dim=-1))
        context = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return context.view(context.shape[0], context.shape[1], -1)


class BertResidual(nn.Module):
    """BertSelfOutput and BertOutput: LayerNorm(dropout(dense(h)) + input)."""

    def __init__(self, c, inner):
        super().__init__()
        self.dense = nn.Linear(inner, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, hidden, input_tensor):
        return self.LayerNorm(self.dropout(self.dense(hidden)) + input_tensor)


class BertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = BertResidual(c, c.hidden_size)

    def forward(self, hidden, extended_mask):
        return self.output(self.self(hidden, extended_mask), hidden)


class BertIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)

    def forward(self, hidden):
        return F.gelu(self.dense(hidden))


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertResidual(c, c.intermediate_size)

    def forward(self, hidden, extended_mask):
        attended = self.attention(hidden, extended_mask)
        return self.output(self.intermediate(attended), attended)


class BertEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(c) for _ in range(c.num_hidden_layers)])

    def forward(self, hidden, extended_mask):
        for layer in self.layer:
            hidden = layer(hidden, extended_mask)
        return hidden


class BertPooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, hidden):
        return torch.tanh(self.dense(hidden[:, 0]))


class BertModel(nn.Module):
    def __init__(self, c, add_pooling_layer=True):
        super().__init__()
        self.embeddings = BertEmbeddings(c)
        self.encoder = BertEncoder(c)
        self.pooler = BertPooler(c) if add_pooling_layer else None

    def forward(self, input_ids, attention_mask, token_type_ids):
        dtype = self.embeddings.LayerNorm.weight.dtype
        # get_extended_attention_mask
        extended = (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min
        sequence = self.encoder(self.embeddings(input_ids, token_type_ids), extended)
        return sequence, (self.pooler(sequence) if self.pooler is not None else None)


class BertForSequenceClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.num_labels = c.num_labels
        self.bert = BertModel(c)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)
        self.classifier = nn.Linear(c.hidden_size, c.num_labels)

    def forward(self, input_ids, attention_mask, token_type_ids, labels=None):
        logits = self.classifier(self.dropout(self.bert(input_ids, attention_mask, token_type_ids)[1]))
        loss = None if labels is None else F.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
        return logits, loss


class BertForTokenClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.num_labels = c.num_labels
        self.bert = BertModel(c, add_pooling_layer=False)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)
        self.classifier = nn.Linear(c.hidden_size, c.num_labels)

    def forward(self, input_ids, attention_mask, token_type_ids, labels=None):
        logits = self.classifier(self.dropout(self.bert(input_ids, attention_mask, token_type_ids)[0]))
        loss = None if labels is None else F.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
        return logits, loss


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, hidden):
        return self.LayerNorm(F.gelu(self.dense(hidden)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transform = BertPredictionHeadTransform(c)
        self.bias = nn.Parameter(torch.zeros(c.vocab_size))


class BertOnlyMLMHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.predictions = BertLMPredictionHead(c)


class BertForMaskedLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.vocab_size = c.vocab_size
        self.bert = BertModel(c, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(c)

    def forward(self, input_ids, attention_mask, token_type_ids, labels=None):
        sequence = self.bert(input_ids, attention_mask, token_type_ids)[0]
        p = self.cls.predictions
        # The decoder is tied to the word embeddings (one tensor), with its own bias.
        logits = F.linear(p.transform(sequence), self.bert.embeddings.word_embeddings.weight, p.bias)
        loss = None if labels is None else F.cross_entropy(logits.view(-1, self.vocab_size), labels.view(-1))
        return logits, loss


# ---- RoBERTa (modeling_roberta.py): BERT's layers, positions counted from padding_idx + 1 ----


class RobertaEmbeddings(BertEmbeddings):
    def __init__(self, c):
        super().__init__(c)
        self.padding_idx = c.pad_token_id
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size, padding_idx=c.pad_token_id)

    def forward(self, input_ids, token_type_ids):
        # create_position_ids_from_input_ids
        mask = input_ids.ne(self.padding_idx).int()
        position_ids = (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + self.padding_idx
        embeddings = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        embeddings = embeddings + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(embeddings))


class RobertaModel(BertModel):
    def __init__(self, c, add_pooling_layer=True):
        super().__init__(c, add_pooling_layer)
        self.embeddings = RobertaEmbeddings(c)


class RobertaClassificationHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)
        self.out_proj = nn.Linear(c.hidden_size, c.num_labels)

    def forward(self, features):
        x = self.dropout(features[:, 0, :])
        x = self.dropout(torch.tanh(self.dense(x)))
        return self.out_proj(x)


class RobertaForSequenceClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.num_labels = c.num_labels
        self.roberta = RobertaModel(c, add_pooling_layer=False)
        self.classifier = RobertaClassificationHead(c)

    def forward(self, input_ids, attention_mask, token_type_ids, labels=None):
        logits = self.classifier(self.roberta(input_ids, attention_mask, token_type_ids)[0])
        loss = None if labels is None else F.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
        return logits, loss


class RobertaLMHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.layer_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(c.vocab_size))


class RobertaForMaskedLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.vocab_size = c.vocab_size
        self.roberta = RobertaModel(c, add_pooling_layer=False)
        self.lm_head = RobertaLMHead(c)

    def forward(self, input_ids, attention_mask, token_type_ids, labels=None):
        h = self.lm_head.layer_norm(F.gelu(self.lm_head.dense(self.roberta(input_ids, attention_mask, token_type_ids)[0])))
        logits = F.linear(h, self.roberta.embeddings.word_embeddings.weight, self.lm_head.bias)
        loss = None if labels is None else F.cross_entropy(logits.view(-1, self.vocab_size), labels.view(-1))
        return logits, loss


# ---- DistilBERT (modeling_distilbert.py) ----


class DistilEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.dim, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.dim)
        self.LayerNorm = nn.LayerNorm(c.dim, eps=1e-12)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, input_ids):
        position_ids = torch.arange(input_ids.shape[1])[None, :]
        return self.dropout(self.LayerNorm(self.word_embeddings(input_ids) + self.position_embeddings(position_ids)))


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_heads, self.dim = c.n_heads, c.dim
        self.dropout = nn.Dropout(c.attention_dropout)
        self.q_lin, self.k_lin, self.v_lin, self.out_lin = (nn.Linear(c.dim, c.dim) for _ in range(4))

    def forward(self, x, mask):
        bs, T, _ = x.shape
        size = self.dim // self.n_heads

        def shape(t):
            return t.view(bs, -1, self.n_heads, size).transpose(1, 2)

        q = shape(self.q_lin(x)) / math.sqrt(size)
        k, v = shape(self.k_lin(x)), shape(self.v_lin(x))
        scores = torch.matmul(q, k.transpose(2, 3))
        scores = scores.masked_fill((mask == 0).view(bs, 1, 1, T).expand_as(scores), torch.finfo(scores.dtype).min)
        context = torch.matmul(self.dropout(F.softmax(scores, dim=-1)), v)
        return self.out_lin(context.transpose(1, 2).contiguous().view(bs, -1, self.n_heads * size))


class FFN(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dropout = nn.Dropout(c.dropout)
        self.lin1 = nn.Linear(c.dim, c.hidden_dim)
        self.lin2 = nn.Linear(c.hidden_dim, c.dim)

    def forward(self, x):
        return self.dropout(self.lin2(F.gelu(self.lin1(x))))


class TransformerBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = MultiHeadSelfAttention(c)
        self.sa_layer_norm = nn.LayerNorm(c.dim, eps=1e-12)
        self.ffn = FFN(c)
        self.output_layer_norm = nn.LayerNorm(c.dim, eps=1e-12)

    def forward(self, x, mask):
        sa = self.sa_layer_norm(self.attention(x, mask) + x)
        return self.output_layer_norm(self.ffn(sa) + sa)


class Transformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([TransformerBlock(c) for _ in range(c.n_layers)])

    def forward(self, x, mask):
        for layer in self.layer:
            x = layer(x, mask)
        return x


class DistilBertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = DistilEmbeddings(c)
        self.transformer = Transformer(c)

    def forward(self, input_ids, attention_mask):
        return self.transformer(self.embeddings(input_ids), attention_mask)


class DistilBertForSequenceClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.num_labels = c.num_labels
        self.distilbert = DistilBertModel(c)
        self.pre_classifier = nn.Linear(c.dim, c.dim)
        self.classifier = nn.Linear(c.dim, c.num_labels)
        self.dropout = nn.Dropout(c.seq_classif_dropout)

    def forward(self, input_ids, attention_mask, token_type_ids=None, labels=None):
        pooled = F.relu(self.pre_classifier(self.distilbert(input_ids, attention_mask)[:, 0]))
        logits = self.classifier(self.dropout(pooled))
        loss = None if labels is None else F.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
        return logits, loss


class DistilBertForMaskedLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.vocab_size = c.vocab_size
        self.distilbert = DistilBertModel(c)
        self.vocab_transform = nn.Linear(c.dim, c.dim)
        self.vocab_layer_norm = nn.LayerNorm(c.dim, eps=1e-12)
        self.vocab_projector_bias = nn.Parameter(torch.zeros(c.vocab_size))

    def named_parameters(self, *a, **k):
        # transformers' name for the projector's (untied) bias
        for n, p in super().named_parameters(*a, **k):
            yield ('vocab_projector.bias' if n == 'vocab_projector_bias' else n), p

    def forward(self, input_ids, attention_mask, token_type_ids=None, labels=None):
        h = self.vocab_layer_norm(F.gelu(self.vocab_transform(self.distilbert(input_ids, attention_mask))))
        logits = F.linear(h, self.distilbert.embeddings.word_embeddings.weight, self.vocab_projector_bias)
        loss = None if labels is None else F.cross_entropy(logits.view(-1, self.vocab_size), labels.view(-1))
        return logits, loss


class DistilConfig(Config):
    """DistilBertConfig's own names, derived from a Config."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.dim, self.n_layers, self.n_heads = self.hidden_size, self.num_hidden_layers, self.num_attention_heads
        self.hidden_dim, self.dropout, self.attention_dropout = self.intermediate_size, 0.0, 0.0
        self.seq_classif_dropout = 0.0

    def to_json(self, architecture):
        keys = ['vocab_size', 'dim', 'n_layers', 'n_heads', 'hidden_dim', 'dropout', 'attention_dropout',
                'seq_classif_dropout', 'max_position_embeddings', 'initializer_range', 'pad_token_id']
        d = {k: getattr(self, k) for k in keys}
        d.update(model_type='distilbert', architectures=[architecture], activation='gelu',
                 id2label={str(i): f'LABEL_{i}' for i in range(self.num_labels)})
        return d


# ---- weights, inputs, statistics ----


def fill(model):
    """Deterministic weights seeded by the parameter's name within the base
    model (so every task model shares its encoder's values). Returns the recipe."""
    recipe = []
    for name, p in model.named_parameters():
        base = name.split('.', 1)[1] if name.startswith(('bert.', 'roberta.', 'distilbert.')) else name
        seed = zlib.crc32(base.encode()) & 0xFFFFFF
        if name.endswith(('LayerNorm.weight', 'layer_norm.weight')):
            scale, offset = 0.2, 1.0
        elif name.endswith('bias'):
            scale, offset = 0.1, 0.0
        elif 'embeddings' in name:
            scale, offset = 0.5, 0.0
        else:
            # uniform with variance 1/fan_in; heads a little smaller
            scale, offset = math.sqrt(3.0 / p.shape[1]) / (4.0 if name.startswith(('classifier', 'cls', 'lm_head', 'vocab_')) else 1.0), 0.0
        with torch.no_grad():
            p.copy_(gen(p.numel(), seed, scale, offset).view_as(p))
        recipe.append([name, list(p.shape), seed, scale, offset])
    return recipe


def grad_stats(g, probe_seed=4242):
    g = g.detach().double().flatten()
    probe = gen(g.numel(), probe_seed, 1.0).double()
    return {
        'sum': g.sum().item(),
        'l1': g.abs().sum().item(),
        'sumsq': (g * g).sum().item(),
        'dot': (g * probe).sum().item(),
        'maxabs': g.abs().max().item(),
        'head': g[:8].tolist(),
    }


def row_stats(logits, probe_seed=77):
    """Per position: sum, sum of squares, a projection, max, argmax and the first values (for a (N, T, V) output)."""
    rows = logits.detach().double().reshape(-1, logits.shape[-1])
    probe = gen(rows.shape[1], probe_seed, 1.0).double()
    return [{'sum': r.sum().item(), 'sumsq': (r * r).sum().item(), 'dot': (r * probe).sum().item(),
             'max': r.max().item(), 'argmax': int(r.argmax().item()), 'head': r[:8].tolist()} for r in rows]


def tensors(feeds):
    return [torch.tensor(feeds[k]) for k in ('input_ids', 'attention_mask', 'token_type_ids')]


def batch(vocab, lengths, T, seed):
    ids, mask, types = [], [], []
    for r, n in enumerate(lengths):
        row = [1 + (i * 7919 + r * 104729 + seed * 31) % (vocab - 1) for i in range(n)] + [0] * (T - n)
        ids.append(row)
        mask.append([1] * n + [0] * (T - n))
        types.append([0] * (n // 2) + [1] * (n - n // 2) + [0] * (T - n))
    return {'input_ids': ids, 'attention_mask': mask, 'token_type_ids': types}


def train_step(model, feeds, labels, trainable):
    for name, p in model.named_parameters():
        p.requires_grad_(any(name.startswith(t) for t in trainable))
        p.grad = None
    model.train()
    logits, loss = model(*tensors(feeds), labels=torch.tensor(labels))
    loss.backward()
    return {'loss': loss.item(), 'grads': {n: grad_stats(p.grad) for n, p in model.named_parameters() if p.requires_grad}}


def case(name, build, config, architecture, feeds, labels=None, trainable=None, outputs='logits', family='bert'):
    torch.manual_seed(0)
    model = build(config)
    recipe = fill(model)
    model.eval()
    model64 = copy.deepcopy(model).double()
    with torch.no_grad():
        out32 = model(*tensors(feeds))
        out64 = model64(*tensors(feeds))
    result = {'name': name, 'family': family, 'config': config.to_json(architecture), 'recipe': recipe, 'feeds': feeds}
    if outputs == 'hidden':
        result['last_hidden_state'] = {'shape': list(out32[0].shape), 'f32': b64(out32[0]), 'f64': b64(out64[0])}
        result['pooler_output'] = {'shape': list(out32[1].shape), 'f32': b64(out32[1]), 'f64': b64(out64[1])}
        # Each sequence alone (no padding): what the padded batch must reproduce.
        alone = []
        for r, n in enumerate(sum(m) for m in feeds['attention_mask']):
            one = {k: [v[r][:n]] for k, v in feeds.items()}
            with torch.no_grad():
                h, pooled = model(*tensors(one))
            alone.append({'feeds': one, 'last_hidden_state': b64(h), 'pooler_output': b64(pooled)})
        result['alone'] = alone
    elif outputs == 'logits':
        result['logits'] = {'shape': list(out32[0].shape), 'f32': out32[0].flatten().tolist(), 'f64': out64[0].flatten().tolist()}
    else:
        result['logit_rows'] = {'shape': list(out32[0].shape), 'f32': row_stats(out32[0]), 'f64': row_stats(out64[0])}
    if labels is not None:
        result['labels'] = labels
        result['train'] = {'trainable': trainable, **train_step(model, feeds, labels, trainable)}
        result['train64'] = train_step(model64, feeds, labels, trainable)
    return result


base = Config()
padded = batch(base.vocab_size, [12, 8], 12, 1)
cases = [
    case('feature-extraction', BertModel, base, 'BertModel', padded, outputs='hidden'),
    # All parameters train: embeddings (padding row, token types, positions) included.
    case('sequence-classification', BertForSequenceClassification, Config(num_labels=3), 'BertForSequenceClassification',
         padded, labels=[2, 0], trainable=['bert.', 'classifier.']),
    case('token-classification', BertForTokenClassification, Config(num_labels=5), 'BertForTokenClassification', padded,
         labels=[[-100, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, -100], [-100, 3, 3, 1, 0, 2, 4, -100, -100, -100, -100, -100]],
         trainable=['bert.encoder.layer.1.', 'classifier.']),
]
# bert-base-uncased's real vocabulary: the tied decoder at full size.
full = Config(vocab_size=30522)
mlm_feeds = batch(full.vocab_size, [10, 7], 10, 2)
mlm_labels = [[-100] * 10 for _ in range(2)]
mlm_labels[0][3], mlm_labels[0][8], mlm_labels[1][1] = 2023, 17, 29999
cases.append(case('fill-mask', BertForMaskedLM, full, 'BertForMaskedLM', mlm_feeds, labels=mlm_labels,
                  trainable=['cls.', 'bert.embeddings.word_embeddings.', 'bert.encoder.layer.1.output.'], outputs='rows'))

# RoBERTa and DistilBERT at small widths: their embeddings, layers and heads.
small = dict(vocab_size=120, hidden_size=64, num_attention_heads=4, intermediate_size=96, max_position_embeddings=40)
rob = Config(model_type='roberta', pad_token_id=1, type_vocab_size=1, layer_norm_eps=1e-5, num_labels=3, **small)
rob_feeds = batch(rob.vocab_size, [9, 6], 9, 3)
for r, row in enumerate(rob_feeds['input_ids']):
    # RoBERTa pads with 1 (and counts positions from it); one segment.
    rob_feeds['input_ids'][r] = [(2 if t == 1 else t) if m else 1 for t, m in zip(row, rob_feeds['attention_mask'][r])]
    rob_feeds['token_type_ids'][r] = [0] * 9
cases.append(case('roberta sequence-classification', RobertaForSequenceClassification, rob, 'RobertaForSequenceClassification',
                  rob_feeds, labels=[1, 2], trainable=['roberta.', 'classifier.'], family='roberta'))
rob_labels = [[-100] * 9 for _ in range(2)]
rob_labels[0][2], rob_labels[1][4] = 7, 100
cases.append(case('roberta fill-mask', RobertaForMaskedLM, rob, 'RobertaForMaskedLM', rob_feeds, labels=rob_labels,
                  trainable=['lm_head.', 'roberta.embeddings.word_embeddings.'], family='roberta'))
dis = DistilConfig(num_labels=2, **small)
dis_feeds = batch(dis.vocab_size, [9, 5], 9, 4)
cases.append(case('distilbert sequence-classification', DistilBertForSequenceClassification, dis,
                  'DistilBertForSequenceClassification', dis_feeds, labels=[1, 0], trainable=['distilbert.', 'pre_classifier.', 'classifier.'],
                  family='distilbert'))
dis_labels = [[-100] * 9 for _ in range(2)]
dis_labels[0][1], dis_labels[1][3] = 5, 66
cases.append(case('distilbert fill-mask', DistilBertForMaskedLM, dis, 'DistilBertForMaskedLM', dis_feeds, labels=dis_labels,
                  trainable=['vocab_', 'distilbert.embeddings.word_embeddings.', 'distilbert.transformer.layer.1.ffn.'], family='distilbert'))

out = {'torch': torch.__version__, 'cases': cases}
path = os.path.join(os.path.dirname(__file__), 'fixtures', 'bert.json')
with open(path, 'w') as f:
    json.dump(out, f, separators=(',', ':'))
print(path, os.path.getsize(path), 'bytes')
