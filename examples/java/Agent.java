// A Java agent behind Tollgate, with the official com.openai:openai-java client.
// Run it from the project root (the launcher script puts openai-java on the classpath):
//   examples/run-examples.sh
// or with your own classpath: java -cp <openai-java jars> examples/java/Agent.java
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.RateLimitException;
import com.openai.models.ChatModel;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;

public class Agent {
    public static void main(String[] args) {
        String baseUrl = System.getenv().getOrDefault("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1");
        OpenAIClient client = OpenAIOkHttpClient.builder()
                .baseUrl(baseUrl)                                   // the only change: point at Tollgate
                .apiKey(System.getenv().getOrDefault("OPENAI_API_KEY", "sk-not-needed-with-mock-upstream"))
                .putHeader("X-Agent-Id", "java-agent")              // who pays
                .putHeader("X-Intent-Id", "java-demo-1")            // for which task
                .build();
        try {
            ChatCompletion reply = client.chat().completions().create(ChatCompletionCreateParams.builder()
                    .model(ChatModel.GPT_4O_MINI).addUserMessage("Say hi.").build());
            System.out.println(reply.choices().get(0).message().content().orElse("") + " " + reply.usage().orElseThrow());
        } catch (RateLimitException e) {
            // A budget 429 from Tollgate carries x-should-retry: false: the client raised it without retrying.
            System.out.println("stopped by Tollgate: " + e.getMessage());
        } finally {
            client.close();
        }
    }
}
