// RegistryClient.java -- an independent client of the schema registry for the
// tests (tests/kafka/pipeline_test.py, registry-* scenarios): Apache Avro and
// Apicurio's Avro serde, configured for the Confluent wire format (magic byte
// 0, 4-byte big-endian id, datum; the id is the registry's content id, as its
// Confluent-compatible API numbers schemas). Nothing of dhatu-stream's code.
//
//   produce BOOTSTRAP TOPIC REGISTRY ARTICLE_AVSC VARIANT FILE.jsonl
//       VARIANT ours: the Article schema as is;
//       evolved: fields reordered (text first), "category" added (default
//       "unknown"), "url" removed; incompatible: "text" is a long (its length).
//   verify BOOTSTRAP TOPIC REGISTRY COUNT
//       reads COUNT records (read_committed) and prints each as one JSON line.
//   copy BOOTSTRAP FROM TO COUNT
//       copies COUNT messages byte for byte (keys too), no registry needed:
//       messages framed while the registry was up, produced while it is down.
// REGISTRY: Apicurio's native API base (http://host:port/apis/registry/v2).
// Run with java's source-file mode and the classpath of tests/registry/pom.xml.
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.apicurio.registry.serde.avro.AvroKafkaDeserializer;
import io.apicurio.registry.serde.avro.AvroKafkaSerializer;
import java.io.BufferedReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class RegistryClient {
    static final ObjectMapper JSON = new ObjectMapper();

    static Map<String, Object> serdeConfig(String registry) {
        Map<String, Object> m = new HashMap<>();
        m.put("apicurio.registry.url", registry);
        m.put("apicurio.registry.auto-register", "true");
        m.put("apicurio.registry.as-confluent", "true");      // 4-byte id after a 0 byte
        m.put("apicurio.registry.use-id", "contentId");        // what the ccompat API calls the id
        m.put("apicurio.registry.headers.enabled", "false");   // the id in the payload, not in headers
        return m;
    }

    static Schema variant(Schema ours, String v) throws Exception {
        ObjectNode s = (ObjectNode) JSON.readTree(ours.toString());
        ArrayNode fields = (ArrayNode) s.get("fields");
        ArrayNode out = JSON.createArrayNode();
        switch (v) {
        case "ours":
            return ours;
        case "evolved":
            for (JsonNode f : fields) if (f.get("name").asText().equals("text")) out.add(f);
            for (JsonNode f : fields) {
                String n = f.get("name").asText();
                if (n.equals("text") || n.equals("url")) continue;
                out.add(f);
                if (n.equals("title")) {
                    ObjectNode cat = JSON.createObjectNode();
                    cat.put("name", "category");
                    cat.put("type", "string");
                    cat.put("default", "unknown");
                    out.add(cat);
                }
            }
            break;
        case "incompatible":
            for (JsonNode f : fields) {
                if (f.get("name").asText().equals("text")) ((ObjectNode) f).put("type", "long");
                out.add(f);
            }
            break;
        default:
            throw new IllegalArgumentException("variant: ours, evolved or incompatible");
        }
        s.set("fields", out);
        return new Schema.Parser().parse(s.toString());
    }

    static Object value(Schema.Field f, JsonNode a) {
        JsonNode v = a.get(f.name());
        if (f.name().equals("category")) return "arxiv";
        if (f.name().equals("text") && f.schema().getType() == Schema.Type.LONG) return (long) a.get("text").asText().length();
        if (v == null || v.isNull()) return f.schema().getType() == Schema.Type.UNION ? null : "";
        if (f.name().equals("published")) return v.asLong();
        return v.asText();
    }

    static void produce(String bootstrap, String topic, String registry, String avsc, String variant, String file)
            throws Exception {
        Schema schema = variant(new Schema.Parser().parse(Files.readString(Path.of(avsc))), variant);
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("enable.idempotence", "true");
        p.put("acks", "all");
        p.putAll(serdeConfig(registry));
        int n = 0;
        try (KafkaProducer<String, GenericRecord> producer =
                     new KafkaProducer<>(p, new StringSerializer(), serializer(registry));
             BufferedReader in = Files.newBufferedReader(Path.of(file))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.isBlank()) continue;
                JsonNode a = JSON.readTree(line);
                GenericRecord r = new GenericData.Record(schema);
                for (Schema.Field f : schema.getFields()) r.put(f.name(), value(f, a));
                producer.send(new ProducerRecord<>(topic, a.get("id").asText(), r)).get();
                n++;
            }
        }
        System.err.println("RegistryClient: produced " + n + " articles (" + variant + ") to " + topic);
    }

    static AvroKafkaSerializer<GenericRecord> serializer(String registry) {
        AvroKafkaSerializer<GenericRecord> s = new AvroKafkaSerializer<>();
        s.configure(serdeConfig(registry), false);
        return s;
    }

    /* A group of its own that reads from the beginning and commits nothing. */
    static Properties readerProps(String bootstrap, String name) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("group.id", name + "-" + ProcessHandle.current().pid());
        p.put("auto.offset.reset", "earliest");
        p.put("enable.auto.commit", "false");
        return p;
    }

    static void verify(String bootstrap, String topic, String registry, int count) throws Exception {
        Properties p = readerProps(bootstrap, "registry-client");
        p.put("isolation.level", "read_committed");
        AvroKafkaDeserializer<GenericRecord> d = new AvroKafkaDeserializer<>();
        d.configure(serdeConfig(registry), false);
        List<String> lines = new ArrayList<>();
        long deadline = System.currentTimeMillis() + 120_000;
        try (KafkaConsumer<String, GenericRecord> consumer = new KafkaConsumer<>(p, new StringDeserializer(), d)) {
            consumer.subscribe(List.of(topic));
            while (lines.size() < count && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, GenericRecord> r : consumer.poll(Duration.ofMillis(500)))
                    lines.add(GenericData.get().toString(r.value()));
            }
        }
        for (String l : lines) System.out.println(l);
        System.err.println("RegistryClient: read " + lines.size() + " records from " + topic);
        if (lines.size() < count) System.exit(1);
    }

    static void copy(String bootstrap, String from, String to, int count) throws Exception {
        Properties c = readerProps(bootstrap, "registry-copy");
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("enable.idempotence", "true");
        p.put("acks", "all");
        int n = 0;
        long deadline = System.currentTimeMillis() + 120_000;
        try (KafkaConsumer<byte[], byte[]> consumer =
                     new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
             KafkaProducer<byte[], byte[]> producer =
                     new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            consumer.subscribe(List.of(from));
            while (n < count && System.currentTimeMillis() < deadline)
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    producer.send(new ProducerRecord<>(to, r.key(), r.value())).get();
                    n++;
                }
        }
        System.err.println("RegistryClient: copied " + n + " messages from " + from + " to " + to);
        if (n < count) System.exit(1);
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 7 && args[0].equals("produce")) produce(args[1], args[2], args[3], args[4], args[5], args[6]);
        else if (args.length == 5 && args[0].equals("verify")) verify(args[1], args[2], args[3], Integer.parseInt(args[4]));
        else if (args.length == 5 && args[0].equals("copy")) copy(args[1], args[2], args[3], Integer.parseInt(args[4]));
        else {
            System.err.println("usage: produce BOOTSTRAP TOPIC REGISTRY AVSC VARIANT FILE | verify BOOTSTRAP TOPIC REGISTRY COUNT");
            System.exit(2);
        }
    }
}
