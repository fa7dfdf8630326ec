package boxcall.peer;

import boxcall.wire.CarSample;
import boxcall.wire.Envelope;
import boxcall.wire.LapCompleted;
import boxcall.wire.Payload;
import boxcall.wire.TimingBody;
import boxcall.wire.TimingEvent;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * boxcall's per-lap telemetry aggregation on Kafka Streams, as a user would write it.
 *
 * <p>Input: the same topics and bytes boxcall reads (key = session id, value = a FlatBuffers
 * Envelope decoded with the flatc-generated classes). Telemetry and timing are merged (both are
 * keyed by session, so they are co-partitioned: no repartition topic). A processor keeps, per
 * (session, car), the open lap's accumulator in a state store (in-memory, cached, changelogged:
 * the fault-tolerant default). A LapCompleted timing event of that car emits
 * {@code session,car,lap,samples,mean_speed,max_speed,mean_throttle,brake_frac} (mean throttle over
 * samples with throttle in [0, 100], so 104 is excluded) to the output topic and resets it.
 *
 * <p>Usage: {@code java -jar boxcall-peer.jar BROKERS APP_ID TELEMETRY TIMING OUTPUT [EXPECT]}.
 * With EXPECT (records), it exits after processing that many and prints one JSON line (throughput);
 * without, it prints {@code RUNNING} once running and serves until killed (latency).
 */
public final class PeerApp {
  static final String STORE = "lap-acc";
  static volatile long processed = 0;
  static volatile long outputs = 0;
  static volatile long firstNs = 0;
  static volatile long lastNs = 0;
  static volatile long firstCpuNs = 0;
  static volatile long lastCpuNs = 0;
  static volatile long[] firstSched = {0, 0};
  static volatile long[] lastSched = {0, 0};
  static long expect = Long.MAX_VALUE;
  static final CountDownLatch done = new CountDownLatch(1);

  /**
   * The open lap of one car: the per-sample LapFeatures of boxcall (docs/features.md), plus the
   * car's last sample before the lap (brake, gear, session time), which the order-dependent
   * features compare the lap's first sample with.
   */
  static final class LapAcc {
    long samples;
    double speedSum;
    double speedMax;
    double throttleSum;
    double throttleSq;
    long throttleN;
    long fullThrottleN;
    long excluded;
    long brakeN;
    long brakeEvents;
    long drsOpenN;
    long gearShifts;
    double maxGapS = Double.NaN;
    // The car's last sample (kept across laps).
    boolean hasLast;
    boolean lastBrake;
    int lastGear;
    long lastSessionTimeNs;

    void add(CarSample s) {
      samples++;
      speedSum += s.speedKph();
      speedMax = Math.max(speedMax, s.speedKph());
      float t = s.throttle();
      if (t >= 0 && t <= 100) {
        throttleSum += t;
        throttleSq += (double) t * t;
        throttleN++;
        if (t >= 99) fullThrottleN++;
      } else {
        excluded++;
      }
      if (s.brake()) brakeN++;
      int drs = s.drs();
      if (drs == 10 || drs == 12 || drs == 14) drsOpenN++;
      if (hasLast) {
        if (s.brake() && !lastBrake) brakeEvents++;
        if (s.gear() != lastGear) gearShifts++;
        if (samples > 1) {
          double gap = (s.sessionTimeNs() - lastSessionTimeNs) / 1e9;
          maxGapS = Double.isNaN(maxGapS) ? gap : Math.max(maxGapS, gap);
        }
      }
      hasLast = true;
      lastBrake = s.brake();
      lastGear = s.gear();
      lastSessionTimeNs = s.sessionTimeNs();
    }

    /** The next lap's accumulator: empty, remembering the car's last sample. */
    LapAcc next() {
      LapAcc n = new LapAcc();
      n.hasLast = hasLast;
      n.lastBrake = lastBrake;
      n.lastGear = lastGear;
      n.lastSessionTimeNs = lastSessionTimeNs;
      return n;
    }
  }

  static final class LapAccSerde implements Serde<LapAcc> {
    @Override
    public Serializer<LapAcc> serializer() {
      return (topic, a) -> {
        if (a == null) return null;
        ByteBuffer b = ByteBuffer.allocate(136);
        b.putLong(a.samples).putDouble(a.speedSum).putDouble(a.speedMax).putDouble(a.throttleSum)
            .putDouble(a.throttleSq).putLong(a.throttleN).putLong(a.fullThrottleN).putLong(a.excluded)
            .putLong(a.brakeN).putLong(a.brakeEvents).putLong(a.drsOpenN).putLong(a.gearShifts)
            .putDouble(a.maxGapS).putLong(a.hasLast ? 1 : 0).putLong(a.lastBrake ? 1 : 0).putInt(a.lastGear)
            .putLong(a.lastSessionTimeNs);
        return b.array();
      };
    }

    @Override
    public Deserializer<LapAcc> deserializer() {
      return (topic, bytes) -> {
        if (bytes == null) return null;
        ByteBuffer b = ByteBuffer.wrap(bytes);
        LapAcc a = new LapAcc();
        a.samples = b.getLong();
        a.speedSum = b.getDouble();
        a.speedMax = b.getDouble();
        a.throttleSum = b.getDouble();
        a.throttleSq = b.getDouble();
        a.throttleN = b.getLong();
        a.fullThrottleN = b.getLong();
        a.excluded = b.getLong();
        a.brakeN = b.getLong();
        a.brakeEvents = b.getLong();
        a.drsOpenN = b.getLong();
        a.gearShifts = b.getLong();
        a.maxGapS = b.getDouble();
        a.hasLast = b.getLong() != 0;
        a.lastBrake = b.getLong() != 0;
        a.lastGear = b.getInt();
        a.lastSessionTimeNs = b.getLong();
        return a;
      };
    }
  }

  static final class LapAggregator implements Processor<String, byte[], String, String> {
    private ProcessorContext<String, String> context;
    private KeyValueStore<String, LapAcc> store;
    private final Envelope env = new Envelope();
    private final CarSample sample = new CarSample();
    private final TimingEvent timing = new TimingEvent();
    private final LapCompleted lap = new LapCompleted();

    @Override
    public void init(ProcessorContext<String, String> context) {
      this.context = context;
      this.store = context.getStateStore(STORE);
    }

    @Override
    public void process(Record<String, byte[]> record) {
      if (firstNs == 0) {
        firstNs = System.nanoTime();
        firstCpuNs = processCpuNs();
        firstSched = schedStat();
      }
      byte[] value = record.value();
      if (value != null && value.length >= 8) {
        Envelope.getRootAsEnvelope(ByteBuffer.wrap(value), env);
        if (env.payloadType() == Payload.CarSample) {
          env.payload(sample);
          String key = record.key() + "/" + sample.carNumber();
          LapAcc acc = store.get(key);
          if (acc == null) acc = new LapAcc();
          acc.add(sample);
          store.put(key, acc);
        } else if (env.payloadType() == Payload.TimingEvent) {
          env.payload(timing);
          if (timing.bodyType() == TimingBody.LapCompleted) {
            timing.body(lap);
            String key = record.key() + "/" + timing.carNumber();
            LapAcc acc = store.get(key);
            if (acc == null) acc = new LapAcc();
            double n = acc.samples, tn = acc.throttleN;
            double meanThrottle = tn > 0 ? acc.throttleSum / tn : Double.NaN;
            double stdThrottle = tn > 1 ? Math.sqrt(Math.max(0, (acc.throttleSq - tn * meanThrottle * meanThrottle)
                / (tn - 1))) : Double.NaN;
            String out = record.key() + "," + timing.carNumber() + "," + lap.lap() + "," + acc.samples + ","
                + acc.excluded + "," + acc.maxGapS + ","
                + (n > 0 ? acc.speedSum / n : Double.NaN) + "," + acc.speedMax + ","
                + meanThrottle + "," + stdThrottle + "," + (tn > 0 ? acc.fullThrottleN / tn : Double.NaN) + ","
                + (n > 0 ? acc.brakeN / n : Double.NaN) + "," + acc.brakeEvents + ","
                + (n > 0 ? acc.drsOpenN / n : Double.NaN) + "," + acc.gearShifts + ","
                + (lap.hasLapTimeS() ? lap.lapTimeS() : Double.NaN) + "," + lap.compound() + ","
                + (lap.hasStint() ? lap.stint() : -1) + "," + (lap.hasTyreLife() ? lap.tyreLife() : -1) + ","
                + (lap.hasPosition() ? lap.position() : -1);
            context.forward(record.withValue(out));
            outputs++;
            store.put(key, acc.next());
          }
        }
      }
      if (++processed == expect) {
        lastNs = System.nanoTime();
        lastCpuNs = processCpuNs();
        lastSched = schedStat();
        done.countDown();
      }
    }
  }

  /** CPU time of the whole JVM (every thread, GC and JIT included). */
  static long processCpuNs() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
        .getOperatingSystemMXBean()).getProcessCpuTime();
  }

  /** This thread's time on a CPU and time runnable but waiting for one (ns), from /proc/thread-self/schedstat. */
  static long[] schedStat() {
    try {
      String[] f = Files.readString(java.nio.file.Path.of("/proc/thread-self/schedstat")).trim().split(" ");
      return new long[] {Long.parseLong(f[0]), Long.parseLong(f[1])};
    } catch (Exception e) {
      return new long[] {0, 0};
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 5) {
      System.err.println("usage: PeerApp BROKERS APP_ID TELEMETRY TIMING OUTPUT [EXPECT]");
      System.exit(2);
    }
    final String brokers = args[0], appId = args[1], telemetry = args[2], timingTopic = args[3], output = args[4];
    if (args.length > 5) expect = Long.parseLong(args[5]);

    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    p.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory("boxcall-peer").toString());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    // boxcall's low-latency client settings (linger.ms=1, fetch wait 5 ms), so that latency compares
    // the processing, not Kafka Streams' throughput-oriented client defaults (linger.ms=100).
    p.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), 1);
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG), 5);

    StreamsBuilder builder = new StreamsBuilder();
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(STORE), Serdes.String(),
        new LapAccSerde()).withCachingEnabled());
    Consumed<String, byte[]> consumed = Consumed.with(Serdes.String(), Serdes.ByteArray());
    KStream<String, byte[]> in = builder.stream(telemetry, consumed).merge(builder.stream(timingTopic, consumed));
    in.process(LapAggregator::new, STORE).to(output, Produced.with(Serdes.String(), Serdes.String()));

    final long started = System.nanoTime();
    KafkaStreams streams = new KafkaStreams(builder.build(), p);
    streams.setStateListener((now, before) -> {
      if (now == KafkaStreams.State.RUNNING) {
        System.out.println("RUNNING");
        System.out.flush();
      }
    });
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      done.countDown();
      streams.close(Duration.ofSeconds(10));
    }));
    streams.start();
    done.await();
    if (expect != Long.MAX_VALUE && lastNs != 0) {
      double secs = (lastNs - firstNs) / 1e9;
      double cpu = (lastCpuNs - firstCpuNs) / 1e9;
      System.out.printf("{\"records\":%d,\"consume_s\":%.3f,\"events_per_s\":%.0f,\"outputs\":%d,\"join_s\":%.3f,"
          + "\"cpu_s\":%.3f,\"events_per_cpu_s\":%.0f,\"stream_thread_on_cpu_s\":%.3f,"
          + "\"stream_thread_waiting_for_cpu_s\":%.3f}%n",
          processed, secs, processed / secs, outputs, (firstNs - started) / 1e9, cpu, processed / cpu,
          (lastSched[0] - firstSched[0]) / 1e9, (lastSched[1] - firstSched[1]) / 1e9);
      System.out.flush();
      streams.close(Duration.ofSeconds(10));
      System.exit(0);
    }
  }
}
