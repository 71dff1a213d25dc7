package dev.fedmesh.proxy.dns;

import static dev.fedmesh.proxy.dns.DnsTestClient.A;
import static dev.fedmesh.proxy.dns.DnsTestClient.query;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.dns.DnsResponseCode;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** What the listener makes of each message a client may send, good or bad, without a network. */
class DownstreamQueryTest {
  private static DownstreamQuery accepted(byte[] wire, boolean udp) {
    DownstreamQuery.Outcome outcome = DownstreamQuery.read(wire, udp);
    assertThat(outcome).isInstanceOf(DownstreamQuery.Accepted.class);
    return ((DownstreamQuery.Accepted) outcome).query();
  }

  private static DownstreamQuery.Reject rejected(byte[] wire) {
    DownstreamQuery.Outcome outcome = DownstreamQuery.read(wire, true);
    assertThat(outcome).isInstanceOf(DownstreamQuery.Reject.class);
    return (DownstreamQuery.Reject) outcome;
  }

  @Test
  void aQueryIsReadWithItsIdRdQuestionAndEdns() {
    DownstreamQuery query = accepted(query(0xBEEF, "Payments.Shop.", A, 1232), true);

    assertThat(query.id()).isEqualTo(0xBEEF);
    assertThat(query.recursionDesired()).isTrue();
    assertThat(query.name()).isEqualTo("Payments.Shop");
    assertThat(query.key()).isEqualTo("payments.shop");
    assertThat(query.plainName()).isTrue();
    assertThat(query.type()).isEqualTo(A);
    assertThat(query.dnsClass()).isEqualTo(1);
    assertThat(query.edns()).isEqualTo(new DownstreamQuery.Edns(1232, 0, false));
    assertThat(query.udpLimit()).isEqualTo(1232);
    assertThat(accepted(query(1, "x", A), true).udpLimit()).isEqualTo(512);
    assertThat(accepted(query(1, "x", A, 65000), true).udpLimit())
        .isEqualTo(DnsAnswers.UDP_PAYLOAD_SIZE);
  }

  @Test
  void lessThanAHeaderIsDroppedAndSoIsAResponse() {
    assertThat(DownstreamQuery.read(new byte[11], true))
        .isEqualTo(new DownstreamQuery.Drop("short"));
    assertThat(DownstreamQuery.read(new byte[0], false))
        .isEqualTo(new DownstreamQuery.Drop("short"));
    byte[] response = query(1, "x", A);
    response[2] |= (byte) 0x80;
    assertThat(DownstreamQuery.read(response, true))
        .isEqualTo(new DownstreamQuery.Drop("response"));
  }

  @Test
  void aCompressionLoopOrAPointerForwardIsFormerr() {
    byte[] selfLoop = {0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, (byte) 0xC0, 12, 0, 1, 0, 1};
    // A label, then a pointer back to that label: a loop through one label.
    byte[] twoStepLoop = {0, 8, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', (byte) 0xC0, 12, 0, 1, 0, 1};
    byte[] forward = {0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, (byte) 0xC0, 16, 0, 1, 0, 1, 1, 'a', 0};
    byte[] intoHeader = {0, 10, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, (byte) 0xC0, 2, 0, 1, 0, 1};

    for (byte[] wire : new byte[][] {selfLoop, twoStepLoop, forward, intoHeader}) {
      DownstreamQuery.Reject reject = rejected(wire);
      assertThat(reject.code()).isEqualTo(DnsResponseCode.FORMERR);
      assertThat(reject.reason()).isEqualTo("malformed");
      assertThat(reject.id()).isEqualTo(wire[1]);
      assertThat(reject.query()).isNull();
    }
  }

  @Test
  void aNameCutOffTooLongOrWithAReservedLabelTypeIsFormerr() {
    byte[] cut = Arrays.copyOf(query(1, "payments.shop", A), 17);
    byte[] typeCut = Arrays.copyOf(query(1, "x", A), 15);
    byte[] reservedLabel = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 'a', 0, 0, 1, 0, 1};
    String longName =
        "a".repeat(63) + "." + "b".repeat(63) + "." + "c".repeat(63) + "." + "d".repeat(63);

    for (byte[] wire : new byte[][] {cut, typeCut, reservedLabel, query(1, longName, A)}) {
      assertThat(rejected(wire).code()).isEqualTo(DnsResponseCode.FORMERR);
    }
  }

  @Test
  void qdcountOtherThanOneIsFormerrAndAnotherOpcodeNotimp() {
    byte[] none = {0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    byte[] two = query(2, "x", A);
    two[5] = 2;
    byte[] notify = query(3, "x", A);
    notify[2] |= 4 << 3;

    assertThat(rejected(none).reason()).isEqualTo("qdcount");
    assertThat(rejected(two).code()).isEqualTo(DnsResponseCode.FORMERR);
    assertThat(rejected(notify).code()).isEqualTo(DnsResponseCode.NOTIMP);
  }

  @Test
  void overUdpMoreThan512BytesNeedEdnsAndNothingOver4096IsTaken() {
    byte[] padded = pad(query(1, "x", A), 600);
    byte[] paddedWithEdns = pad(query(1, "x", A, 4096), 600);

    DownstreamQuery.Reject reject = rejected(padded);
    assertThat(reject.reason()).isEqualTo("oversized");
    assertThat(reject.query()).isNotNull(); // the question is echoed
    accepted(paddedWithEdns, true);
    accepted(padded, false);
    assertThat(rejected(pad(query(1, "x", A, 4096), 4097)).reason()).isEqualTo("oversized");
  }

  @Test
  void trailingBytesOrTwoOptRecordsAreFormerr() {
    byte[] trailing = Arrays.copyOf(query(1, "x", A), 20);
    byte[] twoOpts = query(1, "x", A, 1232);
    byte[] opt = Arrays.copyOfRange(twoOpts, twoOpts.length - 11, twoOpts.length);
    byte[] doubled = Arrays.copyOf(twoOpts, twoOpts.length + 11);
    System.arraycopy(opt, 0, doubled, twoOpts.length, 11);
    doubled[11] = 2;

    assertThat(rejected(trailing).detail()).contains("after the last record");
    assertThat(rejected(doubled).detail()).contains("two OPT records");
  }

  @Test
  void aLabelWithADotOrUnprintableBytesIsEscapedAndNotPlain() {
    byte[] wire = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'a', '.', 1, 1, 'b', 0, 0, 1, 0, 1};

    DownstreamQuery query = accepted(wire, true);

    assertThat(query.name()).isEqualTo("a\\.\\001.b");
    assertThat(query.plainName()).isFalse();
  }

  @Test
  void noInputMakesTheReaderThrowOrLoop() {
    SplittableRandom random = new SplittableRandom(1);
    byte[] seed = query(1, "payments.shop.svc.cluster.local", A, 1232);
    for (int i = 0; i < 200_000; i++) {
      byte[] wire;
      if (i % 2 == 0) {
        wire = new byte[random.nextInt(64)];
        random.nextBytes(wire);
      } else {
        wire = seed.clone();
        for (int flips = random.nextInt(1, 4); flips > 0; flips--) {
          wire[random.nextInt(wire.length)] = (byte) random.nextInt(256);
        }
        wire = Arrays.copyOf(wire, random.nextInt(wire.length + 1));
      }
      assertThat(DownstreamQuery.read(wire, i % 3 == 0)).isNotNull();
    }
  }

  /** {@code query} padded to {@code size} bytes by one extra additional record. */
  private static byte[] pad(byte[] query, int size) {
    int data = size - query.length - 11;
    byte[] padded = Arrays.copyOf(query, size);
    padded[11]++;
    int at = query.length;
    padded[at + 1] = (byte) 0xFF;
    padded[at + 4] = 1;
    padded[at + 9] = (byte) (data >> 8);
    padded[at + 10] = (byte) data;
    return padded;
  }
}
