package dev.tollgate.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.deser.DeserializationProblemHandler;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a config file (YAML; JSON is valid YAML) into a {@link TollgateConfig}.
 *
 * <p>Three passes: parse the text into a tree, replace {@code ${NAME}} in every string with the
 * environment variable NAME (a missing one is an error), then bind the tree to the records. Binding
 * rejects unknown keys and collects all of them before failing, so a user fixes a file in one go.
 * Every problem names its key path.
 */
public final class ConfigLoader {

    private static final Pattern ENV_REFERENCE = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}");


    private final ObjectMapper mapper;
    private final Function<String, String> environment;

    /** A loader that reads {@code ${NAME}} from the process environment. */
    public ConfigLoader() {
        this(System::getenv);
    }

    /** A loader with its own environment, for tests and for callers that sandbox it. */
    public ConfigLoader(Function<String, String> environment) {
        this.environment = environment;
        this.mapper = YAMLMapper.builder(new YAMLFactory())
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
                .build();
    }

    /** Loads a file; a missing or unreadable file is a {@link ConfigException} naming it. */
    public TollgateConfig load(Path file) throws ConfigException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file + ": no such file");
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot be read (" + e.getMessage() + ")");
        }
        TollgateConfig config = parse(text);
        // A price file named relative to the config lives beside it, wherever the proxy was started.
        return config.withPricing(config.pricing().resolvedAgainst(file.toAbsolutePath().getParent()));
    }

    /** Parses config text. An empty text is the default config. */
    public TollgateConfig parse(String text) throws ConfigException {
        JsonNode tree;
        try {
            tree = mapper.readTree(text);
        } catch (JsonProcessingException e) {
            throw new ConfigException("not valid YAML: " + e.getOriginalMessage() + location(e));
        }
        if (tree == null || tree.isMissingNode() || tree.isNull()) {
            return TollgateConfig.DEFAULTS;
        }
        if (!tree.isObject()) {
            throw new ConfigException("the config must be a mapping of keys to values, not " + tree.getNodeType().name().toLowerCase());
        }
        List<String> problems = new ArrayList<>();
        JsonNode substituted = substitute(tree, "", problems);
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return bind(substituted);
    }

    /**
     * Binds the tree to the records. A bad value stops Jackson at the first one, so each bad key found is
     * noted, removed from a copy of the tree, and binding tried again, until every problem is known.
     */
    private TollgateConfig bind(JsonNode tree) throws ConfigException {
        List<String> problems = new ArrayList<>();
        JsonNode attempt = tree.deepCopy();
        for (int round = 0; round < 100; round++) {
            List<String> unknownKeys = new ArrayList<>();
            try {
                TollgateConfig config = mapper.readerFor(TollgateConfig.class)
                        .withHandler(new UnknownKeyCollector(unknownKeys))
                        .readValue(attempt);
                problems.addAll(unknownKeys);
                if (!problems.isEmpty()) {
                    throw new ConfigException(dedupe(problems));
                }
                return config;
            } catch (ValueInstantiationException e) {
                problems.add(invalidValue(e));
            } catch (MismatchedInputException e) {
                problems.add(path(e) + ": " + describeMismatch(e));
            } catch (JsonMappingException e) {
                problems.add(path(e) + ": " + e.getOriginalMessage());
            } catch (IOException e) {
                throw new ConfigException("cannot read the config: " + e.getMessage());
            }
            problems.addAll(unknownKeys);
            String culprit = problems.get(problems.size() - 1 - unknownKeys.size());
            if (!remove(attempt, culprit.substring(0, culprit.indexOf(": ")))) {
                break;
            }
        }
        throw new ConfigException(dedupe(problems));
    }

    private static List<String> dedupe(List<String> problems) {
        return new ArrayList<>(new java.util.LinkedHashSet<>(problems));
    }

    /** Removes the node at a dotted key path from the tree; false when there is no such node. */
    private static boolean remove(JsonNode tree, String dottedPath) {
        if (dottedPath.equals("(top level)")) {
            return false;
        }
        String[] keys = dottedPath.split("\\.");
        JsonNode parent = tree;
        for (int i = 0; i < keys.length - 1; i++) {
            parent = parent.get(keys[i]);
            if (parent == null || !parent.isObject()) {
                return false;
            }
        }
        return parent instanceof ObjectNode object && object.remove(keys[keys.length - 1]) != null;
    }

    /** Replaces {@code ${NAME}} in every string value; returns a new tree. */
    private JsonNode substitute(JsonNode node, String path, List<String> problems) {
        if (node.isTextual()) {
            return TextNode.valueOf(expand(node.textValue(), path, problems));
        }
        if (node.isObject()) {
            ObjectNode copy = mapper.createObjectNode();
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> field = it.next();
                copy.set(field.getKey(), substitute(field.getValue(), join(path, field.getKey()), problems));
            }
            return copy;
        }
        if (node.isArray()) {
            ArrayNode copy = mapper.createArrayNode();
            for (int i = 0; i < node.size(); i++) {
                copy.add(substitute(node.get(i), path + "[" + i + "]", problems));
            }
            return copy;
        }
        return node;
    }

    private String expand(String value, String path, List<String> problems) {
        Matcher matcher = ENV_REFERENCE.matcher(value);
        StringBuilder out = new StringBuilder();
        while (matcher.find()) {
            String name = matcher.group(1);
            String replacement = environment.apply(name);
            if (replacement == null) {
                problems.add(path + ": environment variable " + name + " is not set");
                replacement = "";
            }
            matcher.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        matcher.appendTail(out);
        return out.toString();
    }

    private static String invalidValue(ValueInstantiationException e) {
        String at = path(e);
        Throwable cause = e.getCause();
        if (cause instanceof InvalidValueException invalid) {
            // A scalar's own creator fails at the scalar's path; a record's at the record's.
            boolean atTheKey = at.equals(invalid.key()) || at.endsWith("." + invalid.key());
            return (atTheKey ? at : join(at, invalid.key())) + ": " + invalid.problem();
        }
        return at + ": " + (cause != null ? cause.getMessage() : e.getOriginalMessage());
    }

    private static String describeMismatch(MismatchedInputException e) {
        Class<?> target = e.getTargetType();
        if (target == null) {
            return e.getOriginalMessage();
        }
        if (target == int.class || target == Integer.class || target == long.class || target == Long.class) {
            return "must be a whole number";
        }
        if (target == boolean.class || target == Boolean.class) {
            return "must be true or false";
        }
        if (target == String.class) {
            return "must be a string";
        }
        return "must be a mapping of keys to values";
    }

    /** The dotted key path Jackson was at when it failed ({@code upstream.base_url}). */
    private static String path(JsonMappingException e) {
        StringBuilder out = new StringBuilder();
        for (JsonMappingException.Reference ref : e.getPath()) {
            if (ref.getFieldName() != null) {
                if (out.length() > 0) {
                    out.append('.');
                }
                out.append(ref.getFieldName());
            } else if (ref.getIndex() >= 0) {
                out.append('[').append(ref.getIndex()).append(']');
            }
        }
        return out.length() == 0 ? "(top level)" : out.toString();
    }

    private static String location(JsonProcessingException e) {
        return e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
    }

    private static String join(String path, String key) {
        return path.isEmpty() || path.equals("(top level)") ? key : path + "." + key;
    }

    /** Records every unknown key with its path and skips it, so that all of them are reported at once. */
    private static final class UnknownKeyCollector extends DeserializationProblemHandler {
        private final List<String> problems;

        UnknownKeyCollector(List<String> problems) {
            this.problems = problems;
        }

        @Override
        public boolean handleUnknownProperty(DeserializationContext ctxt, com.fasterxml.jackson.core.JsonParser p,
                com.fasterxml.jackson.databind.JsonDeserializer<?> deserializer, Object beanOrClass, String propertyName)
                throws IOException {
            String parent = parentPath(p);
            problems.add(join(parent, propertyName) + ": unknown key");
            p.skipChildren();
            return true;
        }

        /** The path of the mapping that holds the key the parser is at. */
        private static String parentPath(com.fasterxml.jackson.core.JsonParser p) {
            var ctx = p.getParsingContext();
            if (p.currentToken() != null && p.currentToken().isStructStart()) {
                // Positioned on the value's '{' or '[': step out to the mapping that holds the key.
                ctx = ctx.getParent();
            }
            List<String> names = new ArrayList<>();
            for (ctx = ctx.getParent(); ctx != null; ctx = ctx.getParent()) {
                if (ctx.getCurrentName() != null) {
                    names.add(0, ctx.getCurrentName());
                }
            }
            return String.join(".", names);
        }
    }
}
