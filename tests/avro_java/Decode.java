// Decode.java RECORD_V2.avsc RECORD_V1.avsc IN.hex -- our records read by
// Java's Apache Avro as its users read single-object messages
// (BinaryMessageDecoder), one JSON line per message on stdout:
// {"id":..., ..., "lineage":{...}, "lang":..., "source":...} in the field
// order of the schema, enums by name, doubles as Double.toString writes them.
// The decoder knows version 2 and has version 1 added (decoder.addSchema),
// as docs/RECORD.md tells readers to do; first it shows, on stderr, that a
// decoder of version 1 alone refuses a version-2 record (exit 1 if not).
// Run with java's source-file mode and the classpath of tests/registry/pom.xml.
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.HexFormat;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.MissingSchemaException;

public class Decode {
    public static void main(String[] args) throws Exception {
        Schema v2 = new Schema.Parser().parse(Files.readString(Paths.get(args[0])));
        Schema v1 = new Schema.Parser().parse(Files.readString(Paths.get(args[1])));
        List<String> lines = Files.readAllLines(Paths.get(args[2]));
        BinaryMessageDecoder<GenericRecord> old = new BinaryMessageDecoder<>(GenericData.get(), v1);
        try {
            old.decode(HexFormat.of().parseHex(lines.get(0)));
            System.err.println("Decode: a decoder of version 1 alone read a version-2 record");
            System.exit(1);
        } catch (MissingSchemaException e) {
            System.err.println("Decode: version 1 alone refuses version 2: " + e.getMessage());
        }
        BinaryMessageDecoder<GenericRecord> d = new BinaryMessageDecoder<>(GenericData.get(), v2);
        d.addSchema(v1);
        StringBuilder out = new StringBuilder();
        for (String line : lines) {
            out.setLength(0);
            // GenericData's toString is JSON for these values (no NaN here).
            out.append(GenericData.get().toString(d.decode(HexFormat.of().parseHex(line))));
            System.out.println(out);
        }
    }
}
