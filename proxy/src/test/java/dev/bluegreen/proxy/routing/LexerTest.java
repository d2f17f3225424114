package dev.bluegreen.proxy.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The lexical corners the classifier's safety rests on. */
class LexerTest {

    @Test
    void everyTokenKnowsWhereItStands() {
        for (var arguments : ClassifierTest.allCases()) {
            String sql = (String) arguments.get()[0];
            for (Token token : Lexer.lex(sql, false).tokens()) {
                assertThat(sql.startsWith(token.text(), token.start())).as(sql + " at " + token).isTrue();
            }
        }
    }

    @Test
    void aDollarFollowedByADigitIsAParameterNotAQuote() {
        assertThat(types("select $1, $2$")).containsExactly(
                Token.Type.WORD, Token.Type.PARAM, Token.Type.PUNCT, Token.Type.PARAM, Token.Type.PUNCT);
    }

    @Test
    void aDollarInsideAnIdentifierIsPartOfIt() {
        assertThat(texts("select a$b$ from t")).containsExactly("select", "a$b$", "from", "t");
    }

    @Test
    void dollarQuotesNeedTheSameTag() {
        List<Token> tokens = Lexer.lex("select $a$ x $b$ y $a$").tokens();

        assertThat(tokens.get(1).type()).isEqualTo(Token.Type.STRING);
        assertThat(tokens.get(1).value()).isEqualTo(" x $b$ y ");
    }

    @Test
    void operatorsSplitAsTheServerSplitsThem() {
        assertThat(texts("a=-1")).containsExactly("a", "=", "-", "1");
        assertThat(texts("a @- b")).containsExactly("a", "@-", "b");
        assertThat(texts("a<=b")).containsExactly("a", "<=", "b");
        assertThat(texts("a+--comment\nb")).containsExactly("a", "+", "b");
        assertThat(texts("x::int")).containsExactly("x", "::", "int");
    }

    @Test
    void escapeStringsDecodeAndKeepEscapedQuotesInside() {
        Token token = Lexer.lex("E'a\\'b\\n\\x41\\101\\u00e9'").tokens().get(0);

        assertThat(token.type()).isEqualTo(Token.Type.STRING);
        assertThat(token.value()).isEqualTo("a'b\nAAé");
    }

    /** PostgreSQL's string continuation: the second part is read in the first one's mode. */
    @Test
    void aStringGoesOnAfterANewlineAsItBegan() {
        List<Token> escaped = Lexer.lex("select E'a'\n -- comment\n'\\'b'; delete").tokens();
        assertThat(escaped.get(1).type()).isEqualTo(Token.Type.STRING);
        assertThat(escaped.get(1).value()).isEqualTo("a'b");
        assertThat(escaped).extracting(Token::text).endsWith(";", "delete");

        assertThat(Lexer.lex("select 'a'  \r\n\t'b'").tokens().get(1).value()).isEqualTo("ab");
        // a comment before the newline too (scan.l's horiz_whitespace), and after it when a newline ends it
        assertThat(Lexer.lex("select E'a' -- c\n'\\' , '").tokens().get(1).value()).isEqualTo("a' , ");
        assertThat(Lexer.lex("select 'a' -- c\n -- d\n'b'").tokens().get(1).value()).isEqualTo("ab");
        assertThat(Lexer.lex("select 'a'\t-- c\r\n'b'").tokens().get(1).value()).isEqualTo("ab");
        assertThat(texts("select E'a' -- c")).containsExactly("select", "E'a'");
        // no newline, a block comment, or a comment the text ends in: two tokens, which the server refuses
        assertThat(texts("select 'a' 'b'")).containsExactly("select", "'a'", "'b'");
        assertThat(texts("select 'a' /* c */\n'b'")).containsExactly("select", "'a'", "'b'");
        assertThat(texts("select 'a'\n-- c")).containsExactly("select", "'a'");
    }

    @Test
    void wordsFoldInAsciiOnly() {
        assertThat(Lexer.lex("SELECT Ä").tokens()).extracting(Token::value).containsExactly("select", "Ä");
    }

    @Test
    void numbersInEveryForm() {
        assertThat(types("1 1.5 .5 1e10 1.5E-3 0x1F 1_000")).containsOnly(Token.Type.NUMBER).hasSize(7);
    }

    @Test
    void anUnclosedLiteralEndsTheTokensWithAProblem() {
        Lexed lexed = Lexer.lex("select 'secret and more");

        assertThat(lexed.readable()).isFalse();
        assertThat(lexed.tokens()).extracting(Token::type).containsExactly(Token.Type.WORD, Token.Type.UNTERMINATED);
    }

    private static List<Token.Type> types(String sql) {
        return Lexer.lex(sql).tokens().stream().map(Token::type).toList();
    }

    private static List<String> texts(String sql) {
        return Lexer.lex(sql).tokens().stream().map(Token::text).toList();
    }
}
