#!/usr/bin/perl
# Writes a MaxMind DB (.mmdb) for the placement test with Debian's MaxMind::DB::Writer, in
# the shape of a GeoLite2-City database (location.latitude/longitude, city.names.en).
# Usage: make-mmdb.pl OUT CIDR=LAT,LON,CITY [...]
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my ($out, @nets) = @ARGV;
die "usage: $0 OUT CIDR=LAT,LON,CITY...\n" unless $out && @nets;
my %types = (location => 'map', latitude => 'double', longitude => 'double',
             city => 'map', names => 'map', en => 'utf8_string');
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version            => 6,
    record_size           => 28,
    database_type         => 'seatgate-test-City',
    languages             => ['en'],
    description           => { en => 'seatgate placement test' },
    alias_ipv6_to_ipv4    => 1,
    remove_reserved_networks => 0, # the test uses the documentation ranges (RFC 5737)
    map_key_type_callback => sub { $types{ $_[0] } },
);
for my $n (@nets) {
    my ($cidr, $rest) = split /=/, $n, 2;
    my ($lat, $lon, $city) = split /,/, $rest, 3;
    $tree->insert_network($cidr, { location => { latitude => $lat + 0, longitude => $lon + 0 },
                                   city => { names => { en => $city } } });
}
open my $fh, '>:raw', "$out.tmp" or die "$out.tmp: $!\n";
$tree->write_tree($fh);
close $fh or die "$out.tmp: $!\n";
rename "$out.tmp", $out or die "$out: $!\n"; # replaced whole, as an operator would
