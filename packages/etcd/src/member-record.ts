import { type Member, type Metadata, parseStoredMetadata } from "@rollcall/core/driver";
import type { IKeyValue, ITxnResponse } from "etcd3";

/** The value of a member key. */
export function encodeMember(metadata: Metadata, joinedAt: number, updatedAt: number): Buffer {
  return Buffer.from(JSON.stringify({ metadata, joinedAt, updatedAt }));
}

/** The key-values of the range request at `index` of a transaction's responses. */
export function rangeKvs(res: ITxnResponse, index: number): IKeyValue[] {
  return res.responses[index]?.response_range?.kvs ?? [];
}

/** The count of the range request at `index` of a transaction's responses. */
export function rangeCount(res: ITxnResponse, index: number): number {
  return Number(res.responses[index]?.response_range?.count ?? 0);
}

/** A member record from its key-value: `seq` is the key's `create_revision`. */
export function decodeMember(group: string, memberId: string, kv: IKeyValue): Member {
  let metadata: Metadata = {};
  let joinedAt = 0;
  let updatedAt = 0;
  try {
    const stored = parseStoredMetadata(kv.value.toString("utf8"));
    const inner = stored.metadata;
    if (typeof inner === "object" && inner !== null && !Array.isArray(inner)) metadata = inner;
    if (typeof stored.joinedAt === "number") joinedAt = stored.joinedAt;
    updatedAt = typeof stored.updatedAt === "number" ? stored.updatedAt : joinedAt;
  } catch {
    // Not written by rollcall: show it with empty metadata rather than hide a live key.
  }
  return {
    id: memberId,
    group,
    metadata,
    seq: BigInt(kv.create_revision),
    joinedAt: new Date(joinedAt),
    updatedAt: new Date(updatedAt),
  };
}
