//! Properties of the FIX codec on arbitrary input: it never panics, never claims more bytes
//! than it was given, reads back what the encoder wrote, and frames a stream cut anywhere.

use lft_gateway::codec::{decode, Decoded, Limits, MessageBuilder, HEADER_TAGS};
use proptest::prelude::*;

fn body_fields() -> impl Strategy<Value = Vec<(u32, String)>> {
    // Tags other than the header and trailer ones (a header tag after a body tag is out of
    // order); values of printable ASCII.
    let tag = (11u32..100_000).prop_filter("not a framing or header tag", |t| {
        ![8, 9, 10, 35].contains(t) && !HEADER_TAGS.contains(t)
    });
    prop::collection::vec((tag, "[ -~]{1,40}"), 0..40)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_decode_without_panic_and_within_the_buffer(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        match decode(&bytes, &Limits::default()) {
            Decoded::Message(m, used) => {
                prop_assert!(used <= bytes.len());
                prop_assert_eq!(m.bytes.len(), used);
            }
            Decoded::Garbled(_, skip) => prop_assert!(skip >= 1 && skip <= bytes.len()),
            Decoded::Incomplete | Decoded::Fatal(_) => {}
        }
    }

    #[test]
    fn mutated_messages_decode_without_panic(fields in body_fields(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut b = MessageBuilder::new("D");
        for (t, v) in &fields {
            b.field(*t, v);
        }
        let mut bytes = b.finish();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        if let Decoded::Message(_, used) | Decoded::Garbled(_, used) = decode(&bytes, &Limits::default()) {
            prop_assert!(used <= bytes.len());
        }
    }

    #[test]
    fn what_the_encoder_writes_reads_back_field_for_field(fields in body_fields(), msg_type in "[0-9A-Za-z]{1,2}") {
        let mut b = MessageBuilder::new(&msg_type);
        for (t, v) in &fields {
            b.field(*t, v);
        }
        let bytes = b.finish();
        let Decoded::Message(m, used) = decode(&bytes, &Limits::default()) else {
            return Err(TestCaseError::fail(format!("{:?}", String::from_utf8_lossy(&bytes))));
        };
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(m.problem, None);
        prop_assert_eq!(m.msg_type(), Some(msg_type.as_bytes()));
        let body: Vec<(u32, &[u8])> = m.fields[3..m.fields.len() - 1].to_vec();
        let want: Vec<(u32, &[u8])> = fields.iter().map(|(t, v)| (*t, v.as_bytes())).collect();
        prop_assert_eq!(body, want);
    }

    #[test]
    fn a_stream_of_messages_frames_the_same_whatever_the_reads(count in 1usize..6, cuts in prop::collection::vec(1usize..40, 1..30)) {
        let mut stream = Vec::new();
        for i in 0..count {
            stream.extend(MessageBuilder::new("0").field(34, i + 1).finish());
        }
        // Feed the bytes in reads of the given sizes, as a socket might deliver them.
        let (mut buffer, mut fed, mut seqs) = (Vec::new(), 0usize, Vec::new());
        let mut reads = cuts.iter().cycle();
        while fed < stream.len() || !buffer.is_empty() {
            if fed < stream.len() {
                let n = (*reads.next().unwrap()).min(stream.len() - fed);
                buffer.extend_from_slice(&stream[fed..fed + n]);
                fed += n;
            }
            loop {
                match decode(&buffer, &Limits::default()) {
                    Decoded::Message(m, used) => {
                        seqs.push(m.seq_num().unwrap().unwrap());
                        buffer.drain(..used);
                    }
                    Decoded::Incomplete => break,
                    other => return Err(TestCaseError::fail(format!("{other:?}"))),
                }
            }
            if fed == stream.len() && !buffer.is_empty() {
                return Err(TestCaseError::fail("bytes left over"));
            }
        }
        prop_assert_eq!(seqs, (1..=count as u64).collect::<Vec<_>>());
    }
}
