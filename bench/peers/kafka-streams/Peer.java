// Peer.java -- the Kafka Streams application a user could write instead of
// dhatu-consumer: the seed model's record (docs/RECORD.md) of every article,
// JSON in and out (Jackson's streaming parser and generator) or Avro
// single-object in and out (Apache Avro, the repo's schemas), with the same
// lineage. Written for bench/peer.sh as a competent Streams user would tune
// it: stateless, 2 stream threads, idempotent lz4 producer with acks=all
// (as dhatu-consumer's), per-task reusable digests and buffers.
//
// JSON comes in two styles (-Dstyle=): "streaming" (default; JsonParser and
// JsonGenerator by hand) and "databind" (ObjectMapper reading an Article class
// and writing a Record class, what most Streams code does); peer.sh runs both
// and compares against the faster. Both use processValues, not mapValues: the
// record's lineage needs the input's topic, partition and offset, which only
// a processor's context gives.
//
// Usage: java -cp CP [-Dstyle=streaming|databind] Peer BROKERS IN OUT APP_ID json|avro EXPECT [SCHEMA_DIR]
// Runs until EXPECT records were processed, then closes (flush and commit)
// and prints one line: "peer: N records, cold R/s, warm W/s, ..." where
// cold is first record to close done, warm the same excluding the first 10 s.
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.processor.api.RecordMetadata;

public class Peer {
    static final String[] DHATUS = {"RELATE", "MODAL", "EXIST", "EVAL", "COMM", "CAUSE", "ITER", "DECIDE", "FEEL"};
    static final double[] PRIMES = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29};
    static final AtomicLong processed = new AtomicLong(), failed = new AtomicLong();
    static volatile long firstNs, tenNs, tenCount = -1;

    /** The seed record's numbers (docs/RECORD.md), the same operations in the same order as kernels/src/finish.h. */
    static final class Seed {
        final double[] weights = new double[9], primeBases = new double[10];
        int dominant;
        long tokens;
        double ambiguity;
        final MessageDigest sha;
        final byte[][] prefixes = new byte[9][];

        Seed() throws Exception {
            sha = MessageDigest.getInstance("SHA-256");
            for (int d = 0; d < 9; d++) prefixes[d] = (DHATUS[d] + "::").getBytes(StandardCharsets.UTF_8);
        }

        void compute(String text) {
            byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
            long[] raw = new long[9];
            long sum = 0;
            for (int d = 0; d < 9; d++) {
                sha.update(prefixes[d]);
                byte[] h = sha.digest(utf8);
                raw[d] = (h[0] & 255) + (h[5] & 255) + (h[13] & 255) + (h[21] & 255) + (h[29] & 255);
                sum += raw[d];
            }
            dominant = -1;
            double best = 0.0;
            for (int i = 0; i < 9; i++) {
                weights[i] = sum != 0 ? (double) raw[i] / (double) sum : 0.0;
                if (weights[i] > best) { best = weights[i]; dominant = i; }
            }
            for (int k = 0; k < 10; k++) {
                double s = 0.0, pw = 1.0;
                int e = 0;
                for (int i = 0; i < 9; i++) {
                    s += weights[i] * pw;
                    e++;
                    if (e == (int) PRIMES[k]) { e = 0; pw = 1.0; } else pw *= PRIMES[k];
                }
                primeBases[k] = s;
            }
            double h = 0.0;
            for (int i = 0; i < 9; i++) if (weights[i] > 0.0) h -= weights[i] * Math.log(weights[i]);
            ambiguity = dominant < 0 ? 0.0 : h / Math.log(9.0);
            tokens = countTokens(text);
        }
    }

    /** ASCII classes for the tokenizer's fast path: 1 word, 2 space (splits, joins), 0 other. */
    static final byte[] ASCII = new byte[128];
    static {
        for (int b = 0; b < 128; b++) {
            if (Character.isLetterOrDigit(b)) ASCII[b] = 1;
            else if (isWhiteSpace(b) || b == '-' || b == '\'') ASCII[b] = 2;
        }
    }

    /** docs/TOKENIZER.md's token count, with Java's Unicode tables (a table for ASCII). */
    static long countTokens(String s) {
        long n = 0;
        boolean inWord = false;
        for (int i = 0; i < s.length();) {
            char ch = s.charAt(i);
            if (ch < 128) {
                i++;
                if (ASCII[ch] == 1) {
                    if (!inWord) { n++; inWord = true; }
                } else {
                    inWord = false;
                }
                continue;
            }
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (cp == 0xAD || cp == 0x200C || cp == 0x200D || cp == 0x2060 || cp == 0xFEFF) continue;
            if (cp == '-' || cp == 0x2010 || cp == 0x2011 || cp == '\'' || cp == 0x2019 || isWhiteSpace(cp)) {
                inWord = false;
                continue;
            }
            switch (Character.getType(cp)) {
                case Character.UPPERCASE_LETTER: case Character.LOWERCASE_LETTER: case Character.TITLECASE_LETTER:
                case Character.MODIFIER_LETTER: case Character.OTHER_LETTER: case Character.DECIMAL_DIGIT_NUMBER:
                case Character.LETTER_NUMBER: case Character.OTHER_NUMBER:
                    if (!inWord) { n++; inWord = true; }
                    break;
                case Character.NON_SPACING_MARK: case Character.ENCLOSING_MARK: case Character.COMBINING_SPACING_MARK:
                    break;  // continues a word; with none open, a separator
                case Character.MATH_SYMBOL:
                    if (cp >= 0x80) { n++; inWord = false; } else inWord = false;
                    break;
                default:
                    inWord = false;
            }
        }
        return n;
    }

    static boolean isWhiteSpace(int cp) {
        return (cp >= 9 && cp <= 13) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
            || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F
            || cp == 0x3000;
    }

    static void count() {
        long n = processed.incrementAndGet();
        if (n == 1) firstNs = System.nanoTime();
        if (tenCount < 0 && System.nanoTime() - firstNs >= 10_000_000_000L) {
            synchronized (Peer.class) {
                if (tenCount < 0) { tenNs = System.nanoTime(); tenCount = n; }
            }
        }
    }

    /** JSON article in, JSON record out. */
    static final class JsonSeed implements FixedKeyProcessor<byte[], byte[], byte[]> {
        final JsonFactory json = new JsonFactory();
        final ByteArrayOutputStream out = new ByteArrayOutputStream(2048);
        Seed seed;
        FixedKeyProcessorContext<byte[], byte[]> ctx;

        @Override public void init(FixedKeyProcessorContext<byte[], byte[]> c) {
            ctx = c;
            try { seed = new Seed(); } catch (Exception e) { throw new RuntimeException(e); }
        }

        @Override public void process(FixedKeyRecord<byte[], byte[]> r) {
            String id = null, title = null, text = null, lang = null, source = null;
            try (JsonParser p = json.createParser(r.value())) {
                if (p.nextToken() != JsonToken.START_OBJECT) throw new IllegalArgumentException("not an object");
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String f = p.currentName();
                    JsonToken t = p.nextToken();
                    if (f.equals("id")) id = p.getText();
                    else if (f.equals("title")) title = t == JsonToken.VALUE_NULL ? null : p.getText();
                    else if (f.equals("text")) text = p.getText();
                    else if (f.equals("lang")) lang = t == JsonToken.VALUE_NULL ? null : p.getText();
                    else if (f.equals("source")) source = t == JsonToken.VALUE_NULL ? null : p.getText();
                    else p.skipChildren();
                }
                if (id == null || text == null) throw new IllegalArgumentException("no id or text");
                seed.compute(title != null ? title + " " + text : text);
                out.reset();
                RecordMetadata md = ctx.recordMetadata().orElseThrow();
                try (JsonGenerator g = json.createGenerator(out)) {
                    g.writeStartObject();
                    g.writeStringField("id", id);
                    g.writeStringField("model", "seed-1");
                    g.writeArrayFieldStart("weights");
                    for (double w : seed.weights) g.writeNumber(w);
                    g.writeEndArray();
                    zeros(g, "positive", 9);
                    zeros(g, "negative", 9);
                    g.writeNumberField("tokens", seed.tokens);
                    if (seed.dominant < 0) g.writeNullField("dominant");
                    else g.writeStringField("dominant", DHATUS[seed.dominant]);
                    g.writeArrayFieldStart("polarity");
                    for (int i = 0; i < 9; i++) g.writeString("none");
                    g.writeEndArray();
                    zeros(g, "intensity", 9);
                    g.writeArrayFieldStart("confidence");
                    for (int i = 0; i < 9; i++) g.writeNumber(0.0);
                    g.writeEndArray();
                    g.writeNumberField("signature", 0);
                    g.writeArrayFieldStart("prime_bases");
                    for (double b : seed.primeBases) g.writeNumber(b);
                    g.writeEndArray();
                    g.writeNumberField("ambiguity", seed.ambiguity);
                    g.writeObjectFieldStart("lineage");
                    g.writeStringField("topic", md.topic());
                    g.writeNumberField("partition", md.partition());
                    g.writeNumberField("offset", md.offset());
                    g.writeNumberField("timestamp", r.timestamp());
                    g.writeNumberField("processed_at", System.currentTimeMillis());
                    g.writeStringField("processor", "dhatu-streams-peer");
                    g.writeStringField("backend", "kafka-streams");
                    g.writeEndObject();
                    // the article's lang and source (record schema version 2)
                    if (lang == null) g.writeNullField("lang");
                    else g.writeStringField("lang", lang);
                    if (source == null) g.writeNullField("source");
                    else g.writeStringField("source", source);
                    g.writeEndObject();
                }
                ctx.forward(r.withValue(out.toByteArray()));
                count();
            } catch (Exception e) {
                failed.incrementAndGet();   // the benchmark's input has none; counted, printed at the end
            }
        }

        static void zeros(JsonGenerator g, String name, int n) throws java.io.IOException {
            g.writeArrayFieldStart(name);
            for (int i = 0; i < n; i++) g.writeNumber(0);
            g.writeEndArray();
        }
    }

    /** The article as ObjectMapper reads it (docs/RECORD.md's input). */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class Article {
        public String id, title, text, lang, source;
    }

    @JsonPropertyOrder({"topic", "partition", "offset", "timestamp", "processed_at", "processor", "backend"})
    public static final class Lineage {
        public String topic;
        public int partition;
        public long offset, timestamp;
        @JsonProperty("processed_at") public long processedAt;
        public String processor = "dhatu-streams-peer", backend = "kafka-streams";
    }

    /** The record as ObjectMapper writes it, fields in the schema's order. */
    @JsonPropertyOrder({"id", "model", "weights", "positive", "negative", "tokens", "dominant", "polarity",
                        "intensity", "confidence", "signature", "prime_bases", "ambiguity", "lineage", "lang",
                        "source"})
    public static final class Record {
        static final String[] NONES = {"none", "none", "none", "none", "none", "none", "none", "none", "none"};
        public String id, model = "seed-1", dominant, lang, source;
        public double[] weights, confidence = new double[9];
        public int[] positive = new int[9], negative = new int[9], intensity = new int[9];
        public String[] polarity = NONES;
        public long tokens, signature;
        @JsonProperty("prime_bases") public double[] primeBases;
        public double ambiguity;
        public Lineage lineage = new Lineage();
    }

    /** JSON in and out through ObjectMapper (data binding), one reader and writer per task. */
    static final class JsonDatabindSeed implements FixedKeyProcessor<byte[], byte[], byte[]> {
        static final ObjectMapper MAPPER = new ObjectMapper();
        final ObjectReader reader = MAPPER.readerFor(Article.class);
        final ObjectWriter writer = MAPPER.writerFor(Record.class);
        Seed seed;
        FixedKeyProcessorContext<byte[], byte[]> ctx;

        @Override public void init(FixedKeyProcessorContext<byte[], byte[]> c) {
            ctx = c;
            try { seed = new Seed(); } catch (Exception e) { throw new RuntimeException(e); }
        }

        @Override public void process(FixedKeyRecord<byte[], byte[]> r) {
            try {
                Article a = reader.readValue(r.value());
                if (a.id == null || a.text == null) throw new IllegalArgumentException("no id or text");
                seed.compute(a.title != null ? a.title + " " + a.text : a.text);
                RecordMetadata md = ctx.recordMetadata().orElseThrow();
                Record rec = new Record();
                rec.id = a.id;
                rec.weights = seed.weights.clone();
                rec.primeBases = seed.primeBases.clone();
                rec.tokens = seed.tokens;
                rec.dominant = seed.dominant < 0 ? null : DHATUS[seed.dominant];
                rec.ambiguity = seed.ambiguity;
                rec.lineage.topic = md.topic();
                rec.lineage.partition = md.partition();
                rec.lineage.offset = md.offset();
                rec.lineage.timestamp = r.timestamp();
                rec.lineage.processedAt = System.currentTimeMillis();
                rec.lang = a.lang;
                rec.source = a.source;
                ctx.forward(r.withValue(writer.writeValueAsBytes(rec)));
                count();
            } catch (Exception e) {
                failed.incrementAndGet();
            }
        }
    }

    /** Avro single-object article in, Avro single-object DhatuRecord out. */
    static final class AvroSeed implements FixedKeyProcessor<byte[], byte[], byte[]> {
        final Schema articleSchema, recordSchema, lineageSchema, dhatuSchema, polaritySchema;
        final BinaryMessageDecoder<GenericRecord> decoder;
        final BinaryMessageEncoder<GenericRecord> encoder;
        final ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
        final List<Integer> zeroInts = new ArrayList<>();
        final List<Double> zeroDoubles = new ArrayList<>();
        final List<GenericData.EnumSymbol> nones = new ArrayList<>();
        final GenericData.EnumSymbol[] dhatuSymbols = new GenericData.EnumSymbol[9];
        GenericRecord article;
        Seed seed;
        FixedKeyProcessorContext<byte[], byte[]> ctx;

        AvroSeed(Schema article, Schema record) {
            articleSchema = article;
            recordSchema = record;
            lineageSchema = record.getField("lineage").schema();
            dhatuSchema = record.getField("dominant").schema().getTypes().get(1);
            polaritySchema = record.getField("polarity").schema().getElementType();
            decoder = new BinaryMessageDecoder<>(GenericData.get(), article);
            encoder = new BinaryMessageEncoder<>(GenericData.get(), record);
            for (int i = 0; i < 9; i++) {
                zeroInts.add(0);
                zeroDoubles.add(0.0);
                nones.add(new GenericData.EnumSymbol(polaritySchema, "none"));
                dhatuSymbols[i] = new GenericData.EnumSymbol(dhatuSchema, DHATUS[i]);
            }
        }

        @Override public void init(FixedKeyProcessorContext<byte[], byte[]> c) {
            ctx = c;
            try { seed = new Seed(); } catch (Exception e) { throw new RuntimeException(e); }
        }

        @Override public void process(FixedKeyRecord<byte[], byte[]> r) {
            try {
                article = decoder.decode(r.value(), article);
                Object title = article.get("title");
                String text = article.get("text").toString();
                seed.compute(title != null ? title + " " + text : text);
                List<Double> weights = new ArrayList<>(9), bases = new ArrayList<>(10);
                for (double w : seed.weights) weights.add(w);
                for (double b : seed.primeBases) bases.add(b);
                RecordMetadata md = ctx.recordMetadata().orElseThrow();
                GenericData.Record lineage = new GenericData.Record(lineageSchema);
                lineage.put("topic", md.topic());
                lineage.put("partition", md.partition());
                lineage.put("offset", md.offset());
                lineage.put("timestamp", r.timestamp());
                lineage.put("processed_at", System.currentTimeMillis());
                lineage.put("processor", "dhatu-streams-peer");
                lineage.put("backend", "kafka-streams");
                GenericData.Record rec = new GenericData.Record(recordSchema);
                rec.put("id", article.get("id"));
                rec.put("model", "seed-1");
                rec.put("weights", weights);
                rec.put("positive", zeroInts);
                rec.put("negative", zeroInts);
                rec.put("tokens", seed.tokens);
                rec.put("dominant", seed.dominant < 0 ? null : dhatuSymbols[seed.dominant]);
                rec.put("polarity", nones);
                rec.put("intensity", zeroInts);
                rec.put("confidence", zeroDoubles);
                rec.put("signature", 0L);
                rec.put("prime_bases", bases);
                rec.put("ambiguity", seed.ambiguity);
                rec.put("lineage", lineage);
                rec.put("lang", article.get("lang"));       // record schema version 2
                rec.put("source", article.get("source"));
                out.reset();
                encoder.encode(rec, out);
                ctx.forward(r.withValue(out.toByteArray()));
                count();
            } catch (Exception e) {
                failed.incrementAndGet();
            }
        }
    }

    public static void main(String[] a) throws Exception {
        String brokers = a[0], in = a[1], out = a[2], appId = a[3], format = a[4];
        long expect = Long.parseLong(a[5]);
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Integer.getInteger("threads", 2));
        p.put(StreamsConfig.STATE_DIR_CONFIG, System.getProperty("java.io.tmpdir") + "/dhatu-peer-" + appId);
        p.put(StreamsConfig.producerPrefix(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG), true);
        p.put(StreamsConfig.producerPrefix(ProducerConfig.ACKS_CONFIG), "all");
        p.put(StreamsConfig.producerPrefix(ProducerConfig.COMPRESSION_TYPE_CONFIG), "lz4");
        p.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), 5);
        p.put(StreamsConfig.producerPrefix(ProducerConfig.BATCH_SIZE_CONFIG), 131072);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), 2000);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        StreamsBuilder b = new StreamsBuilder();
        var stream = b.stream(in, Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()));
        if (format.equals("avro")) {
            Schema.Parser parser = new Schema.Parser();
            Schema article = parser.parse(new File(a[6], "article.avsc"));
            Schema record = new Schema.Parser().parse(new File(a[6], "record.avsc"));
            stream = stream.processValues(() -> new AvroSeed(article, record));
        } else {
            if (System.getProperty("style", "streaming").equals("databind")) stream = stream.processValues(JsonDatabindSeed::new);
            else stream = stream.processValues(JsonSeed::new);
        }
        stream.to(out, Produced.with(Serdes.ByteArray(), Serdes.ByteArray()));
        KafkaStreams streams = new KafkaStreams(b.build(), p);
        CountDownLatch died = new CountDownLatch(1);
        streams.setStateListener((now, before) -> { if (now == KafkaStreams.State.ERROR) died.countDown(); });
        streams.start();
        while (processed.get() + failed.get() < expect && died.getCount() > 0) Thread.sleep(20);
        long lastNs = System.nanoTime();
        streams.close(Duration.ofSeconds(60));   // flushes the producer and commits
        long endNs = System.nanoTime();
        long n = processed.get();
        double cold = n / ((endNs - firstNs) / 1e9);
        String warm = tenCount < 0 ? "n/a (under 10 s)"
            : String.format("%.0f/s", (n - tenCount) / ((endNs - tenNs) / 1e9));
        System.out.printf("peer: %d records, %d failed, cold %.0f/s, warm %s, close %.2f s%s%n", n, failed.get(), cold,
                          warm, (endNs - lastNs) / 1e9, died.getCount() == 0 ? ", STREAMS ERROR" : "");
        System.exit(n == expect ? 0 : 1);
    }
}
