// Prints boxcall's live strategy predictions and alerts, in either output encoding.
//
//   npm ci && npm run build        (flatc writes the reader into src/generated, tsc compiles to dist/)
//   node dist/consumer.js --brokers localhost:9092 [--topics predictions,alerts] [--from-beginning]
//                         [--until-end] [--jsonl]
//
// Each record names its encoding in its `content-type` header (docs/wire-contract.md, "Reading
// boxcall's outputs"): application/json is parsed with JSON.parse, application/x-flatbuffers with the
// reader flatc generates from schemas/boxcall.fbs. Both give the same object: the JSON form's field
// names, enums by name, null for an unknown optional value. int64 times (event_time_ns) are strings
// of digits: a JavaScript number would round them (2^53 < 1.7e18).
import { parseArgs } from "node:util";
import * as flatbuffers from "flatbuffers";
import { CompressionCodecs, CompressionTypes, Kafka, KafkaMessage, logLevel } from "kafkajs";
import * as lz4 from "lz4js";
import {
  Alert,
  Compound,
  DrivingMode,
  Envelope,
  Payload,
  Severity,
  StrategyPrediction,
} from "./generated/boxcall_generated";

// boxcall's producer compresses with LZ4 (compression.type, docs/operations.md); KafkaJS reads only
// gzip by itself, so it gets an LZ4 codec (pure JavaScript, LZ4 frames as Kafka writes them).
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: async (encoder: { buffer: Buffer }) => Buffer.from(lz4.compress(encoder.buffer)),
  decompress: async (buffer: Buffer) => Buffer.from(lz4.decompress(buffer)),
});

const SCHEMA_VERSION = "1"; // the wire schema this consumer was written for
const MEDIA_JSON = "application/json";
const MEDIA_FLATBUFFERS = "application/x-flatbuffers";

type Fields = Record<string, string | number | boolean | null>;
interface Decoded {
  media: string;
  payloadType: string;
  fields: Fields | null; // predictions and alerts only
}

function predictionFields(p: StrategyPrediction): Fields {
  return {
    session: p.session(), car_number: p.carNumber(), driver: p.driver(), lap: p.lap(),
    event_time_ns: p.eventTimeNs().toString(), model_version: p.modelVersion(), p_pit_3: p.pPit3(),
    pred_next_lap_s: p.predNextLapS(), pit_window_start: p.pitWindowStart(), pit_window_best: p.pitWindowBest(),
    pit_window_end: p.pitWindowEnd(), next_compound: Compound[p.nextCompound()], pit_now_delta_s: p.pitNowDeltaS(),
    undercut_threat: p.undercutThreat(), undercut_chance: p.undercutChance(), mode: DrivingMode[p.mode()],
    mode_reason: p.modeReason(), confidence: p.confidence(),
  };
}

function alertFields(a: Alert): Fields {
  return {
    session: a.session(), car_number: a.carNumber(), driver: a.driver(), kind: a.kind(),
    severity: Severity[a.severity()], active: a.active(), event_time_ns: a.eventTimeNs().toString(),
    message: a.message(),
  };
}

function decodeFlatBuffer(value: Buffer): Omit<Decoded, "media"> {
  const bb = new flatbuffers.ByteBuffer(new Uint8Array(value.buffer, value.byteOffset, value.length));
  if (!Envelope.bufferHasIdentifier(bb)) throw new Error("not a boxcall Envelope (file identifier BXC1)");
  const env = Envelope.getRootAsEnvelope(bb);
  const payloadType = Payload[env.payloadType()] ?? String(env.payloadType());
  if (env.payloadType() === Payload.StrategyPrediction) {
    return { payloadType, fields: predictionFields(env.payload(new StrategyPrediction()) as StrategyPrediction) };
  }
  if (env.payloadType() === Payload.Alert) {
    return { payloadType, fields: alertFields(env.payload(new Alert()) as Alert) };
  }
  return { payloadType, fields: null };
}

function decodeJson(value: Buffer): Omit<Decoded, "media"> {
  const text = value.toString("utf8");
  const env = JSON.parse(text);
  const payloadType: string = env.payload_type;
  if (payloadType !== "StrategyPrediction" && payloadType !== "Alert") return { payloadType, fields: null };
  const fields: Fields = env.payload;
  // The exact digits of the int64 time, which JSON.parse rounds to a double.
  const digits = /"event_time_ns":\s*(-?\d+)/.exec(text);
  if (digits) fields.event_time_ns = digits[1];
  return { payloadType, fields };
}

function header(message: KafkaMessage, name: string): string | undefined {
  const v = message.headers?.[name];
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v[v.length - 1] : v).toString();
}

/** The content-type's media type; records without the header are sniffed. */
function mediaType(message: KafkaMessage, value: Buffer): string | undefined {
  const ct = header(message, "content-type");
  if (ct !== undefined) return ct.split(";")[0].trim().toLowerCase();
  if (value.length >= 8 && value.subarray(4, 8).toString("latin1") === "BXC1") return MEDIA_FLATBUFFERS;
  return value.toString("utf8").trimStart().startsWith("{") ? MEDIA_JSON : undefined;
}

function decode(message: KafkaMessage): Decoded {
  const version = header(message, "boxcall.schema.version");
  if (version !== undefined && version !== SCHEMA_VERSION) {
    throw new Error(`schema version ${version} (this consumer reads ${SCHEMA_VERSION})`);
  }
  const value = message.value ?? Buffer.alloc(0);
  const media = mediaType(message, value);
  if (media === MEDIA_JSON) return { media, ...decodeJson(value) };
  if (media === MEDIA_FLATBUFFERS) return { media, ...decodeFlatBuffer(value) };
  throw new Error(`unknown content-type ${header(message, "content-type")}`);
}

const fmt = (x: unknown, digits: number, unit = "") => (typeof x === "number" ? x.toFixed(digits) + unit : "-");

function describe(d: Decoded): string {
  const f = d.fields;
  const enc = d.media === MEDIA_JSON ? "json" : "fb";
  if (d.payloadType === "StrategyPrediction" && f) {
    const window =
      f.pit_window_start === null
        ? "no window"
        : `pit window ${f.pit_window_start}-${f.pit_window_end} (best ${f.pit_window_best})`;
    return (
      `lap ${String(f.lap).padStart(2)} ${String(f.driver).padEnd(3)} #${String(f.car_number).padEnd(2)} ` +
      `${window}, next ${f.next_compound}, p(pit within 3 laps) ${fmt(f.p_pit_3, 2)}, ` +
      `next lap ${fmt(f.pred_next_lap_s, 3, " s")}, undercut threat ${fmt(f.undercut_threat, 2)}, ` +
      `${f.mode}: ${f.mode_reason}  [${enc}]`
    );
  }
  if (d.payloadType === "Alert" && f) {
    const who = f.car_number ? `${f.driver} #${f.car_number}` : "session";
    return (
      `ALERT ${f.active ? "RAISED " : "cleared"} ${String(f.severity).padEnd(8)} ${String(f.kind).padEnd(18)} ` +
      `${who}: ${f.message}  [${enc}]`
    );
  }
  return `(${d.payloadType}) [${enc}]`;
}

async function main(): Promise<void> {
  // `node dist/consumer.js | head` closes stdout early: stop quietly.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => process.exit(e.code === "EPIPE" ? 0 : 1));
  const { values: args } = parseArgs({
    options: {
      brokers: { type: "string", default: "localhost:9092" },
      topics: { type: "string", default: "predictions,alerts" },
      group: { type: "string" },
      "from-beginning": { type: "boolean", default: false },
      "until-end": { type: "boolean", default: false },
      jsonl: { type: "boolean", default: false },
    },
  });
  const topics = args.topics!.split(",").filter((t) => t.length > 0);
  const kafka = new Kafka({ clientId: "boxcall-example", brokers: args.brokers!.split(","), logLevel: logLevel.ERROR });

  // --until-end: the last offset of every non-empty partition, read before consuming.
  const remaining = new Map<string, bigint>();
  if (args["until-end"]) {
    const admin = kafka.admin();
    await admin.connect();
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) {
        if (BigInt(p.high) > BigInt(p.low)) remaining.set(`${topic}/${p.partition}`, BigInt(p.high) - 1n);
      }
    }
    await admin.disconnect();
  }

  const consumer = kafka.consumer({ groupId: args.group ?? `boxcall-example-${process.pid}-${Date.now()}` });
  const counts = new Map<string, number>();
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await consumer.disconnect();
    const summary = [...counts].sort().map(([t, n]) => `${n} ${t}`).join(", ");
    process.stderr.write(`read: ${summary || "nothing"}\n`);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  consumer.on(consumer.events.CRASH, (e) => {
    process.stderr.write(`boxcall consumer: ${e.payload.error.message}\n`);
    process.exit(1);
  });

  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: args["from-beginning"] });
  if (args["until-end"] && remaining.size === 0) return stop();
  await consumer.run({
    autoCommit: args.group !== undefined,
    eachMessage: async ({ topic, partition, message }) => {
      try {
        const d = decode(message);
        counts.set(d.payloadType, (counts.get(d.payloadType) ?? 0) + 1);
        if (args.jsonl) {
          const key = message.key?.toString() ?? null;
          const line = { topic, partition, offset: Number(message.offset), key, media_type: d.media,
                         payload_type: d.payloadType, record: d.fields };
          process.stdout.write(JSON.stringify(line) + "\n");
        } else {
          process.stdout.write(describe(d) + "\n");
        }
      } catch (e) {
        process.stderr.write(`skipped ${topic}/${partition}@${message.offset}: ${(e as Error).message}\n`);
      }
      const last = remaining.get(`${topic}/${partition}`);
      if (last !== undefined && BigInt(message.offset) >= last) {
        remaining.delete(`${topic}/${partition}`);
        if (remaining.size === 0) setImmediate(() => void stop()); // not from inside eachMessage
      }
    },
  });
}

main().catch((e) => {
  process.stderr.write(`boxcall consumer: ${(e as Error).message}\n`);
  process.exit(1);
});
