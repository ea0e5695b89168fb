package dev.tollgate.pricing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/**
 * Token counts against what the OpenAI API itself reported for the same requests. Reference: the
 * OpenAI Cookbook notebook "How to count tokens with tiktoken" (examples/How_to_count_tokens_with_tiktoken.ipynb,
 * sections 6 and 7), whose recorded outputs show the API's {@code usage.prompt_tokens}: 129 for the
 * six-message example on gpt-3.5-turbo and gpt-4 (cl100k), 124 on gpt-4o and gpt-4o-mini (o200k); 105 and
 * 101 for the weather-tool example on the same models.
 */
class TokenCounterTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TokenCounter COUNTER = new TokenCounter();

    private static final String CORPORATE_JARGON = """
            {"messages": [
              {"role": "system", "content": "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."},
              {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
              {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
              {"role": "system", "name": "example_user", "content": "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."},
              {"role": "system", "name": "example_assistant", "content": "Let's talk later when we're less busy about how to do better."},
              {"role": "user", "content": "This late pivot means we don't have time to boil the ocean for the client deliverable."}
            ]}""";

    private static final String WEATHER_TOOL = """
            {"messages": [
              {"role": "system", "content": "You are a helpful assistant that can answer to questions about the weather."},
              {"role": "user", "content": "What's the weather like in San Francisco?"}
            ],
            "tools": [{"type": "function", "function": {
              "name": "get_current_weather",
              "description": "Get the current weather in a given location",
              "parameters": {"type": "object", "properties": {
                "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                "unit": {"type": "string", "description": "The unit of temperature to return", "enum": ["celsius", "fahrenheit"]}
              }, "required": ["location"]}}}]}""";

    private static JsonNode json(String text) throws Exception {
        return JSON.readTree(text);
    }

    @Test
    void chatMessagesWithNamesMatchTheApiOnCl100k() throws Exception {
        assertThat(COUNTER.countChatPrompt("gpt-3.5-turbo", json(CORPORATE_JARGON))).isEqualTo(129);
        assertThat(COUNTER.countChatPrompt("gpt-4-0613", json(CORPORATE_JARGON))).isEqualTo(129);
    }

    @Test
    void chatMessagesWithNamesMatchTheApiOnO200k() throws Exception {
        assertThat(COUNTER.countChatPrompt("gpt-4o", json(CORPORATE_JARGON))).isEqualTo(124);
        assertThat(COUNTER.countChatPrompt("gpt-4o-mini-2024-07-18", json(CORPORATE_JARGON))).isEqualTo(124);
    }

    @Test
    void chatWithToolsMatchesTheApi() throws Exception {
        assertThat(COUNTER.countChatPrompt("gpt-4", json(WEATHER_TOOL))).isEqualTo(105);
        assertThat(COUNTER.countChatPrompt("gpt-3.5-turbo", json(WEATHER_TOOL))).isEqualTo(105);
        assertThat(COUNTER.countChatPrompt("gpt-4o", json(WEATHER_TOOL))).isEqualTo(101);
        assertThat(COUNTER.countChatPrompt("gpt-4o-mini", json(WEATHER_TOOL))).isEqualTo(101);
    }

    @Test
    void newerModelsUseO200kWhereJtokkitWouldGuessWrong() {
        for (String model : new String[] {"gpt-4.1", "gpt-4.1-mini-2025-04-14", "o1", "o3-mini", "o4-mini", "gpt-5",
                "gpt-5-nano", "openai/gpt-4o", "chatgpt-4o-latest", "some-future-model"}) {
            assertThat(TokenCounter.usesCl100k(model)).as(model).isFalse();
        }
        for (String model : new String[] {"gpt-4", "gpt-4-turbo", "gpt-3.5-turbo-0125", "text-embedding-3-small",
                "ft:gpt-3.5-turbo-0125:acme::x"}) {
            assertThat(TokenCounter.usesCl100k(model)).as(model).isTrue();
        }
    }

    @Test
    void specialTokenStringsInAgentTextAreCountedNotThrown() {
        assertThat(COUNTER.countText("gpt-4o", "before <|endoftext|> after <|im_start|>")).isGreaterThan(5);
        assertThat(COUNTER.countText("gpt-4", "<|endoftext|>")).isGreaterThan(1);
    }

    @Test
    void completionEmbeddingAndResponsesInputsCount() throws Exception {
        assertThat(COUNTER.countCompletionPrompt("gpt-3.5-turbo-instruct", json("{\"prompt\":\"Say this is a test\"}")))
                .isEqualTo(5);
        assertThat(COUNTER.countEmbeddingInput("text-embedding-3-small", json("{\"input\":[\"hello world\",\"hi\"]}")))
                .isEqualTo(3);
        assertThat(COUNTER.countEmbeddingInput("text-embedding-3-small", json("{\"input\":[[1,2,3],[4,5]]}")))
                .isEqualTo(5);
        assertThat(COUNTER.countResponsesInput("gpt-4.1", json("{\"input\":\"hello world\"}")))
                .isEqualTo(3 + 3 + 1 + 2);
    }
}
