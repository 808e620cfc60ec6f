package io.promptfleet.kafka.embedded;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static io.promptfleet.kafka.embedded.TestClients.readAll;
import static io.promptfleet.kafka.embedded.TestClients.transactionalProducer;
import static org.assertj.core.api.Assertions.assertThat;

class TransactionsTest {

    @Test
    void aCommittedTransactionIsVisibleToReadCommittedAndAnAbortedOneIsNot() throws Exception {
        String bootstrap = SharedKafka.bootstrapServers();
        String topic = KafkaTestSupport.uniqueName("tx");
        KafkaTestSupport.createTopics(bootstrap, 1, topic);
        try (KafkaProducer<String, String> p = transactionalProducer(bootstrap, KafkaTestSupport.uniqueName("txid"))) {
            p.initTransactions();
            p.beginTransaction();
            p.send(new ProducerRecord<>(topic, 0, "k", "aborted"));
            p.flush();
            p.abortTransaction();

            p.beginTransaction();
            p.send(new ProducerRecord<>(topic, 0, "k", "committed-1"));
            p.send(new ProducerRecord<>(topic, 0, "k", "committed-2"));
            p.commitTransaction();

            p.beginTransaction();
            p.send(new ProducerRecord<>(topic, 0, "k", "open")).get();
            // Left open: read_committed stops at the last stable offset, before this record.
            List<ConsumerRecord<String, String>> committed = readAll(bootstrap, topic,
                    IsolationLevel.READ_COMMITTED.toString(), 3, Duration.ofMillis(1500));
            assertThat(committed).extracting(ConsumerRecord::value).containsExactly("committed-1", "committed-2");
            List<ConsumerRecord<String, String>> uncommitted = readAll(bootstrap, topic,
                    IsolationLevel.READ_UNCOMMITTED.toString(), 4, Duration.ofSeconds(10));
            assertThat(uncommitted).extracting(ConsumerRecord::value)
                    .containsExactly("aborted", "committed-1", "committed-2", "open");
            p.commitTransaction();
        }
    }
}
